"""Shared pieces of the API: errors, authentication, blueprint factory, common schemas."""
from __future__ import annotations

from datetime import date

from flask import g, request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from exchange import inputs
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


# --- fields that read outside input through exchange.inputs (the one parser per kind) ---------------------

class Int(fields.Integer):
    """A whole number in a query string or body, read by :func:`exchange.inputs.parse_int`: within
    ``minimum`` … ``maximum`` (default 0 … 2³¹−1, the ``integer`` columns' range), else 422 naming the field.
    A ``validate`` given as well (e.g. a narrower Range with its own message) applies after."""

    default_minimum, default_maximum, label = 0, inputs.INT_MAX, "数值"

    def __init__(self, *, minimum: int | None = None, maximum: int | None = None, **kwargs):
        self.minimum = self.default_minimum if minimum is None else minimum
        self.maximum = self.default_maximum if maximum is None else maximum
        kwargs.setdefault("validate", validate.Range(min=self.minimum, max=self.maximum))  # documents the bounds
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):  # a JSON number: 3.0 is 3, 3.5 / NaN / Infinity are not whole numbers
            if not value.is_integer():
                raise ValidationError("应为整数")
            value = int(value)
        try:
            return inputs.parse_int(value, field=attr, label=self.label, minimum=self.minimum, maximum=self.maximum)
        except inputs.InputError as exc:
            raise ValidationError(exc.message) from None


class Id(Int):
    """An id: 1 … 2³¹−1."""

    default_minimum, label = 1, "编号"


class Page(Int):
    """A page number of an API list: 1 … :data:`exchange.inputs.PAGE_MAX` (the API is strict: 422 otherwise)."""

    default_minimum, default_maximum, label = 1, inputs.PAGE_MAX, "页码"


class Money(fields.Decimal):
    """An amount in 元 read by :func:`exchange.inputs.parse_money`: finite, within ``Numeric(16, 2)``, two decimals
    at most; ``minimum`` when given.  Dumped as a string with two decimals."""

    parser = staticmethod(inputs.parse_money)

    def __init__(self, *, minimum=None, **kwargs):
        self.minimum = minimum
        kwargs.setdefault("as_string", True)
        kwargs.setdefault("places", 2)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            raise ValidationError("金额请以字符串填写，如 \"12000.50\"")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValidationError("应为数字")
        try:
            return self.parser(value, field=attr, label=attr, minimum=self.minimum)
        except inputs.InputError as exc:
            raise ValidationError(exc.message) from None


class Quantity(Money):
    """An area or count (``Numeric(14, 2)``): as :class:`Money`, 12 digits before the point."""

    parser = staticmethod(inputs.parse_quantity)


class _InRange:
    """Dates and times read by marshmallow, then held to :func:`exchange.inputs.check_date`'s range."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        try:
            return inputs.check_date(result, field=attr, label="日期" if type(result) is date else "时间")
        except inputs.InputError as exc:
            raise ValidationError(exc.message) from None


class Day(_InRange, fields.Date):
    """A date (YYYY-MM-DD), 2000 … 2100."""


class Moment(_InRange, fields.DateTime):
    """A date and time (ISO 8601), 2000 … 2100."""


class AwareMoment(_InRange, fields.AwareDateTime):
    """A date and time with its time zone (ISO 8601), 2000 … 2100."""


class PageArgs(Schema):
    page = Page(load_default=1, metadata={"description": "页码，从 1 开始"})
    per_page = Int(load_default=20, minimum=1, maximum=200, metadata={"description": "每页条数，1–200"})
