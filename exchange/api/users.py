"""Staff accounts and API tokens (center admin)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exchange.access import require
from exchange.accounts import services as acc
from exchange.accounts.models import ApiToken, Role, User
from exchange.api.auth import MeSchema
from exchange.api.common import (ApiError, Id, Int, PageArgs, make_blueprint, not_found, require_login,
                                 service_error)
from exchange.api.common import authorise
from exchange.extensions import db
from exchange.orgs.models import OrgUnit

blp = make_blueprint("api_users", "", "工作人员账号与 API 访问令牌（中心管理员）")


class UserSchema(MeSchema):
    mobile = fields.String(allow_none=True)
    active = fields.Boolean()
    locked_until = fields.DateTime(allow_none=True)
    failed_logins = fields.Integer()
    last_login_at = fields.DateTime(allow_none=True)


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class UserListArgs(PageArgs):
    q = fields.String(load_default=None, metadata={"description": "登录名、姓名或手机号关键字"})
    role = fields.String(load_default=None, validate=validate.OneOf([r.value for r in Role]))
    org_id = Id(load_default=None)


class StaffCreateSchema(Schema):
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role if r is not Role.PUBLIC]))
    org_unit_id = Id(required=True)
    password = fields.String(required=True, load_only=True, metadata={"description": "初始密码，首次登录须修改"})
    mobile = fields.String(load_default=None)


class StaffUpdateSchema(Schema):
    display_name = fields.String()
    role = fields.String(validate=validate.OneOf([r.value for r in Role if r is not Role.PUBLIC]))
    org_unit_id = Id()
    mobile = fields.String(allow_none=True)
    active = fields.Boolean()


class TempPasswordSchema(Schema):
    temporary_password = fields.String()


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    user = fields.Function(lambda t: t.user.username)
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class TokenCreateSchema(Schema):
    user_id = Id(required=True, metadata={"description": "令牌代表的账号"})
    name = fields.String(required=True, metadata={"description": "用途，如“市大数据中心数据同步”"})
    days = Int(load_default=None, metadata={"description": "有效天数；不填为长期有效"})


class TokenCreatedSchema(TokenSchema):
    token = fields.String(metadata={"description": "令牌明文，仅此一次返回，请妥善保存"})


class _Created:
    """A new token as the response schema reads it: the row's fields and, this once, the secret."""

    def __init__(self, token: ApiToken, secret: str):
        self._token, self.token = token, secret

    def __getattr__(self, name):
        return getattr(self._token, name)


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found("账号")
    return user


def _org(org_id: int) -> OrgUnit:
    org = db.session.get(OrgUnit, org_id)
    if org is None:
        raise ApiError(400, "invalid", "机构不存在。", fields={"org_unit_id": ["机构不存在"]})
    return org


@blp.route("/users")
@blp.arguments(UserListArgs, location="query")
@blp.response(200, UserPageSchema)
def list_users(args):
    """账号列表（中心管理员）"""
    user = require_login()
    stmt = acc.staff_query(user, q=args["q"], role=args["role"], org_id=args["org_id"])
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}


@blp.route("/users", methods=["POST"])
@authorise("users.manage")
@blp.arguments(StaffCreateSchema)
@blp.response(201, UserSchema)
def create_user(args):
    """新建工作人员账号（中心管理员）"""
    actor = require_login()
    require(actor, "users.manage")
    org = _org(args.pop("org_unit_id"))
    try:
        user = acc.create_staff(actor, org=org, **args)
    except acc.AccountError as exc:
        raise service_error(exc) from None
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>")
@blp.response(200, UserSchema)
def get_user(user_id):
    """账号详情（中心管理员）"""
    require(require_login(), "users.view")
    return _user(user_id)


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@authorise("users.manage")
@blp.arguments(StaffUpdateSchema)
@blp.response(200, UserSchema)
def update_user(args, user_id):
    """修改工作人员账号：姓名、角色、机构、手机号、启用/停用"""
    actor = require_login()
    require(actor, "users.manage")
    user = _user(user_id)
    org = _org(args.pop("org_unit_id")) if "org_unit_id" in args else None
    try:
        acc.update_staff(actor, user, org=org, **args)
    except acc.AccountError as exc:
        raise service_error(exc) from None
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>/unlock", methods=["POST"])
@blp.response(200, UserSchema)
def unlock_user(user_id):
    """解除登录锁定"""
    actor = require_login()
    user = _user(user_id)
    acc.unlock(actor, user)
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@blp.response(200, TempPasswordSchema)
def reset_password(user_id):
    """重置密码：生成临时密码，账号下次登录须修改"""
    actor = require_login()
    user = _user(user_id)
    temp = acc.reset_password(actor, user)
    db.session.commit()
    return {"temporary_password": temp}


@blp.route("/tokens")
@blp.response(200, TokenSchema(many=True))
def list_tokens():
    """API 访问令牌列表"""
    require(require_login(), "tokens.manage")
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


@blp.route("/tokens", methods=["POST"])
@authorise("tokens.manage")
@blp.arguments(TokenCreateSchema)
@blp.response(201, TokenCreatedSchema)
def create_token(args):
    """发放 API 访问令牌（明文仅返回一次）"""
    actor = require_login()
    require(actor, "tokens.manage")
    try:
        token, secret = acc.create_token(actor, _user(args["user_id"]), args["name"], args["days"])
    except acc.AccountError as exc:
        raise service_error(exc) from None
    db.session.commit()
    return _Created(token, secret)


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(200, TokenSchema)
def revoke_token(token_id):
    """吊销 API 访问令牌"""
    actor = require_login()
    require(actor, "tokens.manage")
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise not_found("令牌")
    acc.revoke_token(actor, token)
    db.session.commit()
    return token
