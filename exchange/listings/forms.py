"""Listing forms: a new draft, the five steps of the intake form, materials, review decisions."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, DecimalField, IntegerField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from exchange.catalog.data import ACQUISITIONS
from exchange.inputs import IdSelectField
from exchange.listings import rules

DATE = {"format": "%Y-%m-%d"}


def limit(n: int) -> Length:
    """At most ``n`` characters: the input gets ``maxlength`` and a longer text (sent all the same) is refused with the
    limit and its own length, never cut (the service says the same, for the API)."""
    return Length(max=n, message="最多 %(max)d 个字，现在是 %(length)d 个字，请精简后再保存。")


class NewListingForm(FlaskForm):
    category_id = IdSelectField("交易品种", validators=[DataRequired("请选择交易品种")])
    point_id = IdSelectField("所在村（社区）", validators=[Optional()])
    title = StringField("项目名称", validators=[DataRequired("请填写项目名称"), limit(120)])


class StepBasicForm(FlaskForm):
    """第 1 步：标的基本情况"""
    title = StringField("项目名称", validators=[DataRequired("请填写项目名称"), limit(120)])
    category_id = IdSelectField("交易品种")
    method_id = IdSelectField("流转方式")
    location = StringField("坐落位置", validators=[limit(200)])
    boundaries = StringField("四至", validators=[limit(300)])
    quantity = DecimalField("数量", places=2, validators=[InputRequired("请填写数量"),
                                                        NumberRange(min=0.01, message="数量应大于 0")])
    unit = SelectField("单位", choices=[(u, u) for u in rules.UNITS])
    current_use = StringField("利用现状", validators=[limit(300)])
    # 四荒 only (第九条 3, 第十条); the service checks the value
    obtained_by = SelectField("取得方式", choices=[("", "请选择")] + list(ACQUISITIONS.items()), validate_choice=False)
    description = TextAreaField("项目说明", validators=[limit(5000)])


class StepTermForm(FlaskForm):
    """第 2 步：权属、期限与价格"""
    right_cert_no = StringField("权属证书编号", validators=[limit(60)])
    right_end_date = DateField("权利到期日", validators=[Optional()], **DATE)
    term_start = DateField("流转开始日期", validators=[Optional()], **DATE)
    term_end = DateField("流转结束日期", validators=[Optional()], **DATE)
    price_mode = RadioField("计价方式", choices=list(rules.PRICE_MODES.items()), default="total")
    floor_unit_price = StringField("单价（元/单位/年）", validators=[limit(20)])
    floor_price = StringField("底价（元，总价）", validators=[limit(20)])
    price_basis = StringField("作价依据", validators=[limit(300)])
    show_floor_price = BooleanField("在公告中公开底价", default=True)
    appraisal_value = StringField("评估值（元）", validators=[limit(20)])
    appraisal_agency = StringField("评估机构", validators=[limit(100)])
    appraisal_report_no = StringField("评估报告编号", validators=[limit(60)])


class StepTransferorForm(FlaskForm):
    """第 3 步：转让方与民主决策"""
    transferor_kind = SelectField("转让方类型", choices=list(rules.TRANSFEROR_KINDS.items()))
    transferor_name = StringField("转让方名称", validators=[limit(100)])
    transferor_id_no = StringField("身份证号 / 统一社会信用代码", validators=[limit(24)])
    transferor_mobile = StringField("联系电话", validators=[limit(20)])
    account_name = StringField("收款户名", validators=[limit(100)])
    account_bank = StringField("开户银行", validators=[limit(100)])
    account_no = StringField("收款账号", validators=[limit(40)])
    account_holder_id_no = StringField("收款账户的身份证号或统一社会信用代码", validators=[limit(24)])
    entrusted = BooleanField("委托他人办理")
    agent_name = StringField("受托人姓名", validators=[limit(100)])
    agent_id_no = StringField("受托人身份证号", validators=[limit(24)])
    agent_mobile = StringField("受托人电话", validators=[limit(20)])
    decision_type = SelectField("民主决策会议", choices=[("", "（个人产权无需填写）")] + [(d, d) for d in rules.DECISION_TYPES],
                                validators=[Optional()])
    decision_date = DateField("决策日期", validators=[Optional()], **DATE)
    reps_total = IntegerField("应到人数（代表总数）", validators=[Optional(), NumberRange(min=0, max=100000)])
    reps_for = IntegerField("同意人数", validators=[Optional(), NumberRange(min=0, max=100000)])


class StepTradeForm(FlaskForm):
    """第 4 步：受让条件与交易方式"""
    buyer_conditions = TextAreaField("受让条件", validators=[limit(3000)])
    buyer_restriction = RadioField("受让限制", choices=[("none", "不限"), ("members", "限本集体经济组织成员")],
                                   default="none")
    restriction_note = StringField("限制说明", validators=[limit(300)])
    trading_method = SelectField("拟采用的交易方式", choices=list(rules.TRADING_METHODS.items()))
    bid_increment = StringField("加价幅度（元）", validators=[limit(20)])
    deposit_amount = StringField("交易保证金（元）", validators=[limit(20)])
    announce_days = IntegerField("公告期（工作日）", validators=[InputRequired("请填写公告期"),
                                                           NumberRange(min=1, max=60, message="公告期为 1–60 个工作日")])


STEPS = [
    ("basic", "标的情况", StepBasicForm),
    ("term", "期限与价格", StepTermForm),
    ("transferor", "转让方", StepTransferorForm),
    ("trade", "交易方式", StepTradeForm),
    ("materials", "材料", None),
]


class MaterialForm(FlaskForm):
    kind = SelectField("材料类型", choices=[(k, m.label) for k, m in rules.MATERIAL_KINDS.items()])
    file = FileField("选择文件", validators=[FileRequired("请选择要上传的文件")])


class ReasonForm(FlaskForm):
    reason = TextAreaField("意见或理由", validators=[limit(1000)])


class StationOpinionForm(FlaskForm):
    """第十四条: the town station's opinion on a listing in the center's review."""
    verdict = RadioField("交易站意见", choices=[("agree", "同意"), ("disagree", "不同意")],
                         validators=[DataRequired("请选择“同意”或“不同意”")])
    reasons = TextAreaField("理由", validators=[limit(1000)])


class CenterReviewForm(FlaskForm):
    decision = RadioField("审核结论", choices=[("approve", "通过并发布公告"), ("return", "退回修改"),
                                          ("reject", "不予受理")], validators=[DataRequired("请选择审核结论")])
    ownership = BooleanField("权属清晰（已查询产权，权属无争议）")
    ownership_note = StringField("说明", validators=[limit(300)])
    qualification = BooleanField("出让方资格合法")
    qualification_note = StringField("说明", validators=[limit(300)])
    planning = BooleanField("符合土地规划和用途管制")
    planning_note = StringField("说明", validators=[limit(300)])
    decision_ok = BooleanField("民主决策程序合规或转让意愿真实")
    decision_ok_note = StringField("说明", validators=[limit(300)])
    reason = TextAreaField("审核意见", validators=[limit(1000)])
