"""Contract forms: a party's confirmation (password), the signed scan, the center's check and clause editor."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from exchange.contracts.templates_data import FREE_CLAUSES, MAX_CLAUSE


class ConfirmForm(FlaskForm):
    password = PasswordField("登录密码", validators=[DataRequired("请输入您的登录密码"), Length(max=200)])


class ScanForm(FlaskForm):
    file = FileField("签字盖章的合同扫描件（PDF、JPG 或 PNG）")


class CheckForm(FlaskForm):
    decision = RadioField("审核结论", choices=[("approve", "审核通过，合同生效"), ("return", "退回，重新上传")],
                          validators=[DataRequired("请选择审核结论")])
    signed_on = StringField("签订日期", validators=[Optional(), Length(max=10)])
    note = TextAreaField("审核意见", validators=[Optional(), Length(max=500)])


class ClausesForm(FlaskForm):
    pass


for _c in FREE_CLAUSES:
    setattr(ClausesForm, _c.key, TextAreaField(_c.title, validators=[DataRequired(f"请填写{_c.title}；没有约定的写“无”"),
                                                                     Length(max=MAX_CLAUSE)]))
