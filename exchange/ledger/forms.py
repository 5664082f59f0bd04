"""Finance workbench forms: recording a refund's bank transfer, approving it (maker-checker)."""
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class TransferForm(FlaskForm):
    bank_ref = StringField("银行回单号", validators=[DataRequired("请填写退款的银行回单号"), Length(max=100)])


class ApproveForm(FlaskForm):
    """Only the CSRF token: the approver is the signed-in finance user."""
