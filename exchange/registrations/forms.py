"""Buyer application, material upload, qualification and deposit forms."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from exchange.accounts.models import FOREIGN_KIND_LABELS
from exchange.registrations.services import BUYER_MATERIALS


class ApplyForm(FlaskForm):
    offer = StringField("意向报价（元）", validators=[Optional(), Length(max=20)])
    by_agent = BooleanField("委托代理人办理")
    agent_name = StringField("受托人姓名", validators=[Optional(), Length(max=60)])
    agent_id_no = StringField("受托人身份证号", validators=[Optional(), Length(max=18)])
    joint = BooleanField("联合受让")
    joint_members = TextAreaField("联合受让方（每行一个：名称、证件号）", validators=[Optional(), Length(max=2000)])
    # 实施方案 二(四)3; prefilled from the account's declaration
    foreign_kind = RadioField("是否为外资企业或境外投资者", choices=list(FOREIGN_KIND_LABELS.items()),
                              validators=[Optional()])
    accept_declaration = BooleanField("本人已阅读并确认《意向受让方声明与保证》",
                                      validators=[DataRequired("请阅读并确认《意向受让方声明与保证》")])


class RegMaterialForm(FlaskForm):
    kind = SelectField("材料类型", choices=list(BUYER_MATERIALS.items()))
    file = FileField("选择文件", validators=[FileRequired("请选择要上传的文件")])


class ReviewForm(FlaskForm):
    note = TextAreaField("审核意见", validators=[Optional(), Length(max=500)])
    priority_right = BooleanField("享有优先权（同等条件下优先受让）")
    priority_basis = StringField("优先权依据", validators=[Optional(), Length(max=100)])
    # 外资企业 / 境外投资者 (实施方案 二(四)3): the reviewer's record that the 审批/备案 documents were checked
    foreign_checked = BooleanField("已核验外商投资审批或备案文件")
    foreign_check_note = TextAreaField("核验情况", validators=[Optional(), Length(max=500)])


class DepositForm(FlaskForm):
    amount = StringField("到账金额（元）", validators=[DataRequired("请填写到账金额"), Length(max=20)])
    source_key = StringField("银行回单号 / 流水号", validators=[DataRequired("请填写银行回单号或流水号"), Length(max=100)])
    arrived_at = StringField("到账时间（北京时间，如 2026-11-30 15:20，不填为现在）", validators=[Optional(), Length(max=20)])
    receipt = FileField("银行回单（PDF、JPG 或 PNG）", validators=[FileRequired("请上传银行回单")])
