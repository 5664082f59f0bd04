"""Shared pieces of the API: errors, authentication, blueprint factory, common schemas."""
from __future__ import annotations

import functools
from datetime import date

from flask import g, request
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate
from marshmallow.utils import missing as missing_
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from exchange import inputs
from exchange.extensions import csrf

API_PREFIX = "/api/v1"


class ApiError(Exception):
    """Raised by API views; rendered as ``{"error": error, "message": message, **extra}``."""

    def __init__(self, status: int, error: str, message: str, **extra):
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra


class ErrorSchema(Schema):
    """Every error body of the API: ``error`` and ``message``, and the extras some errors carry (the handlers in
    :mod:`exchange.api` and :mod:`exchange.api.opendata` send nothing else)."""

    error = fields.String(required=True, metadata={"description": "错误代码（英文，供程序判断）"})
    message = fields.String(required=True, metadata={"description": "中文说明（可直接展示给用户）"})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.Raw(),
                          metadata={"description": "按字段列出的校验错误：字段名 → 中文说明的列表"})
    problems = fields.List(fields.String(), metadata={"description": "办理步骤不完整时（409 workflow）尚待处理的事项"})
    reason = fields.String(metadata={"description": "开放数据令牌不可用的原因（401）：malformed 格式不对 / unknown "
                                                   "不存在 / revoked 已吊销 / expired 已过期"})
    retry_after = fields.Integer(metadata={"description": "请求过于频繁时（429）需等待的秒数"})
    current_price = fields.String(allow_none=True, metadata={"description": "报价被拒绝时：当前最高价（元）"})
    next_min = fields.String(allow_none=True, metadata={"description": "报价被拒绝时：下一有效报价的最低金额（元）"})
    seq = fields.Integer(metadata={"description": "报价被拒绝时：已接受的报价数"})


class ApiParser(FlaskParser):
    """webargs' Flask parser with one more location, ``multipart``: the form fields and the files of a
    ``multipart/form-data`` request together, so one schema both reads an upload and documents it."""

    __location_map__ = dict(multipart="load_multipart", **FlaskParser.__location_map__)

    def load_multipart(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose ``@blp.arguments(Schema, location="multipart")`` reads form fields and
    files and documents them as one ``multipart/form-data`` request body."""

    ARGUMENTS_PARSER = ApiParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}


def make_blueprint(name: str, url_prefix: str, description: str) -> ApiBlueprint:
    blp = ApiBlueprint(name, __name__, url_prefix=API_PREFIX + url_prefix, description=description)
    blp.before_request(authenticate)
    return blp


# --- who may call an operation: its OpenAPI ``security`` (exchange.api.spec puts it on every operation) -----

SIGNED_IN = [{"bearerAuth": []}, {"cookieAuth": []}]  # the default: an API token, or the browser session
SIGNED_IN_OR_NOT = [{}, *SIGNED_IN]  # answers anyone; a signed-in caller may get more


def _security(requirement: list):
    def decorator(func):
        doc = getattr(func, "_apidoc", {})
        func._apidoc = {**doc, "manual_doc": {**doc.get("manual_doc", {}), "security": requirement}}
        return func
    return decorator


public = _security([])
"""A view anyone may call without signing in (``security: []`` in the document); put it under ``@blp.route``."""

public_or_signed_in = _security(SIGNED_IN_OR_NOT)
"""A view anyone may call, that also knows a signed-in caller (e.g. signing out)."""


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


def authorise(check, load=None):
    """Who may call the operation, decided before anything of the request is read (issue 14, item 13): a caller
    without the right learns nothing — neither the rules of the body nor the state of the object.

    Put it right under ``@blp.route`` (above ``@blp.arguments``, whose body parsing would otherwise answer first
    with a 422): the caller signs in (401); ``load(**path parameters)`` finds the object the path names (404 — or
    403 where the object must stay invisible, as the module's own loader does); then ``check`` refuses (403).
    ``check`` is the service's ``authorise_*(user, obj)`` (``(user)`` without ``load``), or the name of an unscoped
    action of :mod:`exchange.access`.  The service checks again when the view calls it."""
    if isinstance(check, str):
        from exchange.access import ACTIONS, require
        action = check
        if ACTIONS[action].scoped:  # a scoped action needs its object: the service's own check says which
            raise ValueError(f"{action} is scoped: authorise with the service's check of the object")
        check = lambda user: require(user, action)  # noqa: E731

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = require_login()
            if load is None:
                check(user)
            else:
                check(user, load(**kwargs))
            return view(*args, **kwargs)
        return wrapper
    return decorator


def found(model, what: str, by: str | None = None):
    """A ``load`` for :func:`authorise`: the ``model`` row whose id is the path parameter ``by`` (default: the
    path's only parameter), else 404 naming ``what``."""
    def load(**path):
        from exchange.extensions import db
        if by is None and len(path) != 1:
            raise ValueError(f"found({model.__name__}) on a path with {len(path)} parameters: say which one (by=…)")
        obj = db.session.get(model, path[by] if by else next(iter(path.values())))
        if obj is None:
            raise not_found(what)
        return obj
    return load


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


DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"


class Exact(fields.Decimal):
    """An exact decimal — money, an area or count, a rate — always written as a string (``"12000.50"``, never a
    JSON number, which a client would read as a float).  ``places`` fixes the decimals (default 2; ``None`` keeps
    the value's own).  The document says ``{type: string, format: decimal, pattern: DECIMAL_PATTERN}`` for this
    class and its subclasses (registered in :func:`exchange.api.spec.install`)."""

    def __init__(self, *, places: int | None = 2, value=None, **kwargs):
        kwargs.setdefault("as_string", True)
        self.value = value  # a function of the object, for a value that is not simply an attribute
        super().__init__(places=places, **kwargs)

    def get_value(self, obj, attr, accessor=None, default=missing_):
        if self.value is not None:
            return self.value(obj)
        return super().get_value(obj, attr, accessor=accessor, default=default)


class Money(Exact):
    """An amount in 元 read by :func:`exchange.inputs.parse_money`: finite, within ``Numeric(16, 2)``, two decimals
    at most; ``minimum`` when given.  Dumped as a string with two decimals."""

    parser = staticmethod(inputs.parse_money)

    def __init__(self, *, minimum=None, **kwargs):
        self.minimum = minimum
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


class File(Upload):
    """An uploaded file in a ``multipart/form-data`` body (``location="multipart"``), documented as a binary
    string.  ``required=True`` documents that the file must be sent; a missing one is still left to the view or
    the service, whose 400 says in Chinese which document is missing (not a generic 422)."""

    def _validate_missing(self, value):
        if value is not None:  # absent: the view or service answers; null is never a file
            return
        super()._validate_missing(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("应为上传的文件（multipart/form-data）")
        return value
