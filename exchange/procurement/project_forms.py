"""The forms of a procurement project's pages (issue 18): a new project, the intake steps (项目概况, 采购需求与评标办法,
采购人与民主决策), a supplier's sealed bid and the trading officer's 否决.  The forms check presence and length only; every
value is parsed and checked by the services (``listings.services.update_draft``, ``procurement.services.save_terms``,
``submit_bid``, ``mark_invalid``), whose refusal is shown beside its field."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import DateInput, TimeInput

from exchange.inputs import IdSelectField
from exchange.listings import rules as listing_rules
from exchange.listings.forms import limit
from exchange.procurement.models import EVAL_KINDS, KINDS, SPECIALTIES
from exchange.procurement.services import CRITERION_MAX, MAX_FILES, REASON_MAX, REQUIREMENTS_MAX, SCOPE_MAX

# the three ways a village collective buys (or picks an investor), each with the one line a clerk needs to choose
MODES = {
    "招标": "招标：修路、水利、建房等工程，由施工单位投标，一般报价低者中标",
    "采购": "采购：买货物或服务（农机、苗木、保洁、设计等），由供应商报价",
    "招商": "招商：为集体的资源、资产或产业项目选投资人，租金或投资额高者优",
}


class NewProjectForm(FlaskForm):
    mode = RadioField("方式", choices=list(MODES.items()), validators=[DataRequired("请选择招标、采购或招商")])
    point_id = IdSelectField("所在村（社区）")
    title = StringField("项目名称", validators=[DataRequired("请填写项目名称"), limit(listing_rules.TITLE_MAX)])


class StepBasicForm(FlaskForm):
    """第 1 步：项目概况"""
    title = StringField("项目名称", validators=[DataRequired("请填写项目名称"), limit(listing_rules.TITLE_MAX)])
    method_id = IdSelectField("方式")
    location = StringField("项目地点", validators=[limit(200)])
    description = TextAreaField("项目说明", validators=[limit(5000)])


class StepTermsForm(FlaskForm):
    """第 2 步：采购需求与评标办法 (招商: 最低价 instead of 最高限价)"""
    kind = RadioField("项目类别", choices=list(KINDS.items()), validate_choice=False)
    budget = StringField("预算金额（元）", validators=[limit(20)])
    limit_price = StringField("最高限价（元）", validators=[limit(20)])
    bond = StringField("投标保证金（元）", validators=[limit(20)])
    eval_kind = RadioField("评标办法", choices=list(EVAL_KINDS.items()), default="lowest_price", validate_choice=False)
    price_weight = StringField("价格分值（分）", validators=[limit(6)])
    criteria = TextAreaField("其他评分因素及分值", validators=[limit(10 * (CRITERION_MAX + 10))])
    trim_extremes = BooleanField("评委 5 人以上时，去掉一个最高分和一个最低分后取平均")
    specialty = SelectField("评标专家的专业", choices=[("", "请选择")] + list(SPECIALTIES.items()),
                            validate_choice=False)
    panel_size = SelectField("评标委员会人数", choices=[(str(n), f"{n} 人") for n in (3, 5, 7, 9)],
                             validate_choice=False)
    scope = TextAreaField("采购内容", validators=[limit(SCOPE_MAX)])
    requirements = TextAreaField("投标人资格要求", validators=[limit(REQUIREMENTS_MAX)])
    opens_date = StringField("开标日期", widget=DateInput(), validators=[limit(10)])
    opens_time = StringField("开标时刻（北京时间）", widget=TimeInput(), validators=[limit(8)])


class StepBuyerForm(FlaskForm):
    """第 3 步：采购人与民主决策（四议两公开）"""
    transferor_name = StringField("采购人名称", validators=[limit(100)])
    transferor_id_no = StringField("统一社会信用代码", validators=[limit(24)])
    transferor_mobile = StringField("联系电话", validators=[limit(20)])
    decision_type = SelectField("决议会议", choices=[("", "请选择")] + [(d, d) for d in listing_rules.DECISION_TYPES],
                                validate_choice=False)
    decision_date = StringField("决议日期", widget=DateInput(), validators=[limit(10)])
    reps_total = StringField("应到人数（代表总数）", validators=[limit(6)])
    reps_for = StringField("同意人数", validators=[limit(6)])
    entrusted = BooleanField("委托他人办理")
    agent_name = StringField("受托人姓名", validators=[limit(100)])
    agent_id_no = StringField("受托人身份证号", validators=[limit(24)])
    agent_mobile = StringField("受托人电话", validators=[limit(20)])


STEPS = [
    ("basic", "项目概况", StepBasicForm),
    ("terms", "采购需求与评标办法", StepTermsForm),
    ("buyer", "采购人与民主决策", StepBuyerForm),
    ("materials", "材料", None),
]


class BidForm(FlaskForm):
    price = StringField("投标报价（元）", validators=[DataRequired("请填写投标报价"), limit(20)])
    files = MultipleFileField(f"投标文件（最多 {MAX_FILES} 个）")


class InvalidForm(FlaskForm):
    reason = StringField("否决理由", validators=[DataRequired("请写明否决的理由"), Length(max=REASON_MAX)])
