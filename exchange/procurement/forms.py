"""The 专家库's forms (issue 18): an expert, a tie to a village, a tie to a party.  The forms check presence and
length; the rules (mobile, specialties, duplicates, ties) are the service's, shown beside their field."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from exchange.inputs import IdSelectField
from exchange.procurement.experts import EMPLOYER_MAX, NAME_MAX, REASON_MAX, TITLE_MAX
from exchange.procurement.models import SPECIALTIES


class MultiCheckboxField(SelectMultipleField):
    """A list of check boxes (rendered as a fieldset by ``_macros.render_field``)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ExpertForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=NAME_MAX)])
    mobile = StringField("手机号码", validators=[DataRequired("请填写手机号码"), Length(max=20)])
    employer = StringField("工作单位", validators=[DataRequired("请填写工作单位"), Length(max=EMPLOYER_MAX)])
    title = StringField("职称", validators=[Optional(), Length(max=TITLE_MAX)])
    specialties = MultiCheckboxField("专业", choices=list(SPECIALTIES.items()), validate_choice=False)
    version = HiddenField()


class VillageTieForm(FlaskForm):
    org_unit_id = IdSelectField("村（社区）", validate_choice=False)
    reason = StringField("回避原因", validators=[DataRequired("请填写回避原因"), Length(max=REASON_MAX)])


class PartyTieForm(FlaskForm):
    party_id = HiddenField()
    reason = StringField("回避原因", validators=[DataRequired("请填写回避原因"), Length(max=REASON_MAX)])
    q = HiddenField()  # the search the result came from, to show it again
