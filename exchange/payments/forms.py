"""Statement import and line decision forms."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional


class StatementForm(FlaskForm):
    file = FileField("银行流水文件（CSV 或 XLSX）", validators=[FileRequired("请选择银行导出的流水文件")])


class DecisionForm(FlaskForm):
    decision = HiddenField()
    note = TextAreaField("处理说明", validators=[Optional(), Length(max=300)])




class CenterAccountForm(FlaskForm):
    """The center's receiving account (收款账户), set by the admin; checked by center_account.set_receiving_account."""

    account_name = StringField("户名", validators=[Length(max=100, message="户名最多 100 个字")])
    bank_name = StringField("开户行", validators=[Length(max=100, message="开户行最多 100 个字")])
    account_no = StringField("账号", validators=[Length(max=60, message="账号太长")])
