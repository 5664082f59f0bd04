"""Sign-in, registration and password forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from exchange.accounts.models import FOREIGN_KIND_LABELS, ORG_TYPE_LABELS, PARTY_KIND_LABELS


class LoginForm(FlaskForm):
    username = StringField("账号", validators=[DataRequired("请输入登录名或手机号"), Length(max=60)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])


class RegisterForm(FlaskForm):
    kind = RadioField("主体类型", choices=[(k.value, v) for k, v in PARTY_KIND_LABELS.items()],
                      default="person", validators=[DataRequired("请选择主体类型")])
    name = StringField("姓名 / 单位全称", validators=[DataRequired("请填写姓名或单位全称"), Length(max=100)])
    id_number = StringField("居民身份证号", validators=[Optional(), Length(max=18, message="身份证号应为18位")])
    uscc = StringField("统一社会信用代码", validators=[Optional(), Length(max=18, message="统一社会信用代码应为18位")])
    org_type = SelectField("组织类型", choices=[("", "请选择")] + [(k.value, v) for k, v in ORG_TYPE_LABELS.items()],
                           validators=[Optional()])
    legal_rep = StringField("法定代表人 / 负责人", validators=[Optional(), Length(max=60)])
    contact_name = StringField("联系人", validators=[Optional(), Length(max=60)])
    mobile = StringField("手机号码", validators=[DataRequired("请填写手机号码"), Length(max=20)])
    address = StringField("联系地址", validators=[Optional(), Length(max=200)])
    # 实施方案 二(四)3: 外资企业和境外投资者按照有关法律、法规执行 — asked of everyone, no default
    foreign_kind = RadioField("是否为外资企业或境外投资者", choices=list(FOREIGN_KIND_LABELS.items()),
                              validators=[DataRequired("请选择是否为外资企业或境外投资者")])
    username = StringField("登录名", validators=[DataRequired("请设置登录名"), Length(max=40)])
    password = PasswordField("密码", validators=[DataRequired("请设置密码"), Length(max=64)])
    confirm = PasswordField("确认密码", validators=[DataRequired("请再次输入密码"),
                                                EqualTo("password", message="两次输入的密码不一致")])
    agree = BooleanField("我已阅读并同意《临湘市农村产权流转交易市场管理办法》及平台使用规则",
                         validators=[DataRequired("请阅读并同意交易规则")])


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("原密码", validators=[DataRequired("请输入原密码")])
    new_password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=64)])
    confirm = PasswordField("确认新密码", validators=[DataRequired("请再次输入新密码"),
                                                  EqualTo("new_password", message="两次输入的新密码不一致")])
