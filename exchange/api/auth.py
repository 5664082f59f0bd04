"""Sign-in, the current account, password change and public registration."""
from __future__ import annotations

from flask import g, request, session
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from marshmallow import Schema, fields, validate

from exchange import clock
from exchange.accounts import services as acc
from exchange.accounts import throttle
from exchange.accounts.models import FOREIGN_KIND_LABELS, OrgType, PartyKind
from exchange.api.common import ApiError, make_blueprint, public, public_or_signed_in, require_login, service_error
from exchange.extensions import db

blp = make_blueprint("api_auth", "", "登录、当前账号与公众注册")


class OrgRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()


class PartySchema(Schema):
    kind = fields.String(metadata={"description": "person 自然人 / organisation 法人或其他组织"})
    name = fields.String()
    id_number_masked = fields.Function(lambda p: _mask_id(p.id_number), metadata={"description": "脱敏身份证号"})
    uscc = fields.String(allow_none=True)
    org_type = fields.String(allow_none=True)
    contact_name = fields.String()
    mobile = fields.String()
    foreign_kind = fields.String(metadata={"description": "是否为外资企业或境外投资者（实施方案 二（四）3）："
                                                          + "、".join(f"{k} {v}" for k, v in FOREIGN_KIND_LABELS.items())
                                                          + "；空为尚未声明"})


def _mask_id(value):
    if not value:
        return None
    from exchange.idcheck import mask_resident_id
    return mask_resident_id(value)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    role_label = fields.String()
    is_staff = fields.Boolean()
    org_unit = fields.Nested(OrgRefSchema, allow_none=True)
    must_change_password = fields.Boolean()
    party = fields.Nested(PartySchema, allow_none=True)


class CsrfSchema(Schema):
    csrf_token = fields.String(required=True)


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=60),
                             metadata={"description": "登录名（公众账号也可用手机号）"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=128), load_only=True)


class PasswordSchema(Schema):
    old_password = fields.String(required=True, load_only=True)
    new_password = fields.String(required=True, load_only=True)


class RegisterSchema(Schema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in PartyKind]))
    name = fields.String(required=True, metadata={"description": "姓名或单位全称"})
    mobile = fields.String(required=True)
    id_number = fields.String(load_default=None, metadata={"description": "居民身份证号（自然人）"})
    uscc = fields.String(load_default=None, metadata={"description": "统一社会信用代码（组织）"})
    org_type = fields.String(load_default=None, validate=validate.OneOf([t.value for t in OrgType]))
    contact_name = fields.String(load_default=None)
    legal_rep = fields.String(load_default=None)
    address = fields.String(load_default=None)
    foreign_kind = fields.String(load_default=None, validate=validate.OneOf(list(FOREIGN_KIND_LABELS)),
                                 metadata={"description": "是否为外资企业或境外投资者："
                                                          + "、".join(f"{k} {v}" for k, v in FOREIGN_KIND_LABELS.items())
                                                          + "；不填的，报名时须声明"})


class OkSchema(Schema):
    ok = fields.Boolean()


@blp.route("/auth/csrf")
@public
@blp.response(200, CsrfSchema)
def csrf_token():
    """取得 CSRF 令牌

    使用浏览器会话调用修改类接口时，将其放入 X-CSRFToken 请求头。
    """
    return {"csrf_token": generate_csrf()}


@blp.route("/auth/login", methods=["POST"])
@public
@blp.arguments(LoginSchema)
@blp.response(200, MeSchema)
def login(args):
    """登录（浏览器会话）

    连续 5 次密码错误，账号锁定 15 分钟。
    """
    try:
        user = acc.authenticate(args["username"], args["password"], ip=request.remote_addr)
    except acc.LoginError as exc:
        db.session.commit()  # failed attempts and locks are kept
        raise ApiError(401, "login_failed", exc.message) from None
    session.clear()
    login_user(user)
    throttle.remember_device(user)
    session["last_seen"] = clock.now().isoformat()
    db.session.commit()
    return user


@blp.route("/auth/logout", methods=["POST"])
@public_or_signed_in
@blp.response(200, OkSchema)
def logout():
    """退出登录"""
    if current_user.is_authenticated:
        acc.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    return {"ok": True}


@blp.route("/me")
@blp.response(200, MeSchema)
def me():
    """当前账号"""
    return require_login()


@blp.route("/me/password", methods=["POST"])
@blp.arguments(PasswordSchema)
@blp.response(200, OkSchema)
def change_password(args):
    """修改密码

    修改后该账号的其他会话全部失效。
    """
    user = require_login()
    try:
        acc.change_password(user, args["old_password"], args["new_password"])
    except acc.AccountError as exc:
        raise service_error(exc) from None
    db.session.commit()
    if not getattr(g, "api_token_auth", False):
        login_user(user)  # keep this session alive with the new session version
    return {"ok": True}


@blp.route("/accounts/register", methods=["POST"])
@public
@blp.arguments(RegisterSchema)
@blp.response(201, MeSchema)
def register(args):
    """公众注册（意向受让方、转让方）

    自然人以居民身份证号注册（校验 GB 11643 校验位），组织以统一社会信用代码注册（校验 GB 32100 校验位）。
    """
    if current_user.is_authenticated:
        raise ApiError(400, "already_signed_in", "您已登录，请先退出后再注册新账号。")
    try:
        user = acc.register_public(acc.SignUp(**args))
    except acc.AccountError as exc:
        raise service_error(exc) from None
    db.session.commit()
    return user
