"""Settlement forms: the balance confirmed from a bank receipt, the payout transfer, the fee table."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length, Optional

from exchange.settlement.models import FEE_PAYERS


class ReceiptForm(FlaskForm):
    amount = StringField("到账金额（元）", validators=[Length(max=20)])
    source_key = StringField("银行回单号 / 流水号", validators=[Length(max=100)])
    arrived_at = StringField("到账时间（北京时间，如 2026-11-27 15:20，留空为现在）", validators=[Optional(), Length(max=20)])
    receipt = FileField("银行回单（PDF、JPG 或 PNG）")


class TransferForm(FlaskForm):
    bank_ref = StringField("划付银行回单号", validators=[Length(max=100)])


class FeeRuleForm(FlaskForm):
    basis = SelectField("计费方式", choices=[("rate", "按成交价比例"), ("fixed", "固定金额")])
    rate = StringField("费率（%）", validators=[Optional(), Length(max=12)])  # a percentage: "1" is 1 % (inputs.parse_percent)
    fixed_amount = StringField("固定金额（元）", validators=[Optional(), Length(max=20)])
    min_fee = StringField("最低收费（元，可空）", validators=[Optional(), Length(max=20)])
    max_fee = StringField("最高收费（元，可空）", validators=[Optional(), Length(max=20)])
    payer = SelectField("付费方", choices=list(FEE_PAYERS.items()))
    active = BooleanField("启用", default=True)
    note = StringField("说明", validators=[Optional(), Length(max=200)])


