"""Center admin forms: org units, staff accounts, API tokens."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from exchange.accounts.models import ROLE_LABELS, Role
from exchange.inputs import IdSelectField
from exchange.orgs.models import ORG_KIND_LABELS


class OrgForm(FlaskForm):
    kind = SelectField("机构类型", choices=[(k.value, v) for k, v in ORG_KIND_LABELS.items()])
    parent_id = IdSelectField("上级机构", validate_choice=False)
    name = StringField("机构名称", validators=[DataRequired("请填写机构名称"), Length(max=60)])
    area_name = StringField("所在地名称", validators=[DataRequired("请填写所在地名称"), Length(max=40)])
    code = StringField("机构编码", validators=[DataRequired("请填写机构编码"), Length(max=20)])
    division_code = StringField("行政区划代码", validators=[Optional(), Length(max=12)])
    address = StringField("办公地址", validators=[Optional(), Length(max=120)])
    phone = StringField("联系电话", validators=[Optional(), Length(max=20)])
    sort_order = IntegerField("排序", default=0, validators=[Optional(), NumberRange(min=0, max=9999)])


STAFF_ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role if r is not Role.PUBLIC]


class StaffForm(FlaskForm):
    username = StringField("登录名", validators=[DataRequired("请填写登录名"), Length(max=40)])
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    role = SelectField("角色", choices=STAFF_ROLE_CHOICES)
    org_unit_id = IdSelectField("所属机构", validate_choice=False)
    mobile = StringField("手机号码", validators=[Optional(), Length(max=20)])
    password = PasswordField("初始密码", validators=[DataRequired("请设置初始密码"), Length(max=64)])


class StaffEditForm(FlaskForm):
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    role = SelectField("角色", choices=STAFF_ROLE_CHOICES)
    org_unit_id = IdSelectField("所属机构", validate_choice=False)
    mobile = StringField("手机号码", validators=[Optional(), Length(max=20)])
    active = BooleanField("账号启用")


class TokenForm(FlaskForm):
    user_id = IdSelectField("代表账号", validate_choice=False)
    name = StringField("用途", validators=[DataRequired("请填写用途"), Length(max=80)])
    days = IntegerField("有效天数", validators=[Optional(), NumberRange(min=1, max=3660, message="有效期应为 1–3660 天")])


class CategoryForm(FlaskForm):
    name = StringField("品种名称", validators=[DataRequired("请填写品种名称"), Length(max=60)])
    announce_days = IntegerField("最短公告期（工作日）", validators=[InputRequired("请填写公告期"),
                                                            NumberRange(min=1, max=60, message="1–60 个工作日")])
    collective = BooleanField("属于集体资产（须评估，低于评估值须三分之二代表同意）")
    restricts_buyers = BooleanField("受让方限本集体经济组织成员")
    farmland = BooleanField("涉及农地（工商资本租赁须加强审查）")
    active = BooleanField("启用")
    description = StringField("说明", validators=[Optional(), Length(max=300)])


class MethodForm(FlaskForm):
    name = StringField("新增流转方式", validators=[DataRequired("请填写名称"), Length(max=20)])
