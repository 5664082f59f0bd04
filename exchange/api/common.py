"""Shared pieces of the API: errors, authentication, blueprint factory, common schemas."""
from __future__ import annotations

from flask import g, request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from exchange.extensions import csrf

API_PREFIX = "/api/v1"


class ApiError(Exception):
    """Raised by API views; rendered as ``{"error": error, "message": message, **extra}``."""

    def __init__(self, status: int, error: str, message: str, **extra):
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "错误代码（英文，供程序判断）"})
    message = fields.String(required=True, metadata={"description": "中文说明（可直接展示给用户）"})
    fields_ = fields.Dict(data_key="fields", metadata={"description": "按字段列出的校验错误"})


def make_blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    blp = Blueprint(name, __name__, url_prefix=API_PREFIX + url_prefix, description=description)
    blp.before_request(authenticate)
    return blp


def authenticate():
    """Runs before every API view: bearer token or session; CSRF for session writes."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "invalid_token", "Authorization 请求头格式应为：Bearer <令牌>。")
        from exchange.accounts.services import user_for_token
        user = user_for_token(secret.strip())
        if user is None:
            raise ApiError(401, "invalid_token", "访问令牌无效、已过期或已被吊销。")
        g._login_user = user  # Flask-Login's per-request user
        g.api_token_auth = True
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()  # raises CSRFError → 400 {"error": "csrf_failed"}
    return None


def require_login():
    if not current_user.is_authenticated:
        raise ApiError(401, "unauthorized", "请先登录或提供有效的访问令牌。")
    return current_user


def service_error(exc) -> ApiError:
    """A service's refusal as an API error: 409 for a workflow step out of order or incomplete
    (with the list of problems), 400 for a rule on the data (with the field it concerns)."""
    problems = getattr(exc, "problems", None)
    if problems is not None:
        return ApiError(409, "workflow", exc.message, problems=problems)
    extra = {"fields": {exc.field: [exc.message]}} if getattr(exc, "field", None) else {}
    return ApiError(400, "invalid", exc.message, **extra)


def perform(action, *args, **kwargs):
    """Call one service; its refusal becomes an API error, its success is committed."""
    from sqlalchemy.orm.exc import StaleDataError

    from exchange.errors import ServiceError
    from exchange.extensions import db
    try:
        result = action(*args, **kwargs)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        raise service_error(exc) from None
    except StaleDataError:  # someone changed the same row (optimistic version check) meanwhile
        db.session.rollback()
        raise ApiError(409, "conflict", "数据已被他人修改，请刷新后重试。") from None
    return result


def not_found(what: str = "对象") -> ApiError:
    return ApiError(404, "not_found", f"{what}不存在。")


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1),
                          metadata={"description": "页码，从 1 开始"})
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200),
                              metadata={"description": "每页条数，1–200"})
