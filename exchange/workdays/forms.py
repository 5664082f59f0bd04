"""Holiday calendar forms (center admin)."""
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional

KIND_CHOICES = [("off", "放假（休息日）"), ("work", "上班（调休工作日）")]


class OverrideForm(FlaskForm):
    """Mark one date as 放假 or 调休上班 (replaces an earlier setting of the same date)."""

    day = DateField("日期", format="%Y-%m-%d",
                    validators=[DataRequired("请选择日期（格式 2027-01-01）")])
    kind = RadioField("类型", choices=KIND_CHOICES, default="off",
                      validators=[DataRequired("请选择放假或上班")])
    name = StringField("名称", validators=[Optional(), Length(max=60, message="名称不能超过 60 个字")])

    @property
    def is_workday(self) -> bool:
        return self.kind.data == "work"


class ConfirmYearForm(FlaskForm):
    note = StringField("依据", validators=[Optional(), Length(max=200, message="依据不能超过 200 个字")])


class DeleteOverrideForm(FlaskForm):
    """Just the CSRF token: the date is in the URL (``ui.confirm_button`` posts it)."""
