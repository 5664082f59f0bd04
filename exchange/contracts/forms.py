"""Contract forms: a party's confirmation (password), the signed scan, the center's check and clause editor."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import PasswordField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from exchange.contracts.templates_data import FREE_CLAUSES, MAX_CLAUSE


class ConfirmForm(FlaskForm):
    password = PasswordField("登录密码", validators=[DataRequired("请输入您的登录密码"), Length(max=200)])
    # a clerk recording a household's paper signature attaches the scan of the page it signed
    file = FileField("转让方签字（盖章）的纸质合同扫描件或照片（PDF、JPG 或 PNG）")


class ScanForm(FlaskForm):
    file = FileField("签字盖章的合同扫描件（PDF、JPG 或 PNG）")


class CheckForm(FlaskForm):
    decision = RadioField("核验结论", choices=[("approve", "核验无误"), ("return", "退回，重新上传")],
                          validators=[DataRequired("请选择核验结论")])
    note = TextAreaField("审核意见", validators=[Optional(), Length(max=500)])


class ClausesForm(FlaskForm):
    pass


for _c in FREE_CLAUSES:
    setattr(ClausesForm, _c.key, TextAreaField(_c.title, validators=[DataRequired(f"请填写{_c.title}；没有约定的写“无”"),
                                                                     Length(max=MAX_CLAUSE)]))
