"""Outside input: one parser per kind, and the hooks that apply them to every request.

Everything that comes from outside (path, query string, form, JSON body, uploaded file names) is read through
the parsers here, so a class of bad input is refused everywhere at once, with a Chinese message naming the field,
before it can reach the database (PostgreSQL refuses what SQLite shrugs off: integers beyond the column, NUL
characters, amounts beyond ``Numeric(16, 2)``):

* **ids** (:func:`parse_id`): ASCII digits (full-width ones from a Chinese IME too), 1 … 2³¹−1 — the range of every
  id column (PostgreSQL ``integer``).  In a path the ``int`` converter is replaced app-wide by
  :class:`BoundedIntConverter`, so ``/listings/3000000000`` is a 404 like any id that does not exist; in a query
  string or form a 400 (pages) or 422 (API) naming the field.
* **whole numbers** (:func:`parse_int`): the same, within the bounds the caller gives (0 … 2³¹−1 by default).
* **pages** (:func:`parse_page`): on the pages a page number that is not a positive whole number is the first page
  (a mistyped link still shows the list), one beyond :data:`PAGE_MAX` is refused; the API is strict (422).
* **money** (:func:`parse_money`, through :func:`exchange.money.to_money`): finite, at most 14 digits before the
  point (``Numeric(16, 2)``), optionally not negative; quantities (:func:`parse_quantity`) 12 digits
  (``Numeric(14, 2)``).
* **dates and times** (:func:`check_date`): within 2000 … 2100 (the bounds the audit viewer and the statistics
  always used): a year 1 or 9999 is nobody's date here, and the time-zone arithmetic on it overflows.
* **text** (:func:`has_control`): no control characters — C0 except tab, line feed and carriage return, DEL — and no
  lone surrogates (a JSON ``"\\ud800"``): :func:`init_app` refuses them in every query string, form, JSON body and
  file name before any view runs (400), and in a path segment (404).  JSON's non-standard ``NaN``/``Infinity``
  are refused there too.

:class:`InputError` is a :class:`~exchange.errors.ServiceError`: a service or view that catches service errors
shows it next to the field; uncaught (as any service refusal), :func:`init_app`'s handler answers 400 (the error
page, or the API's ``{"error": "invalid", "message", "fields"}``) — or 409 for a workflow step out of order.
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from flask import Flask, abort, render_template, request
from werkzeug.routing import IntegerConverter, ValidationError
from wtforms import SelectField

from exchange.errors import ServiceError

__all__ = [
    "DATE_MAX", "DATE_MIN", "INT_MAX", "PAGE_MAX", "BoundedIntConverter", "IdSelectField", "InputError", "arg_id",
    "arg_money", "arg_page", "arg_quantity", "check_date", "form_id", "has_control", "init_app", "parse_id",
    "parse_int", "parse_money", "parse_page", "parse_quantity", "parse_text", "printable",
]

INT_MAX = 2**31 - 1  # PostgreSQL ``integer``: every id column
PAGE_MAX = INT_MAX   # OFFSET (page − 1) × per_page stays far inside ``bigint`` for any per_page we allow
QUANTITY_DIGITS = 12  # Listing.quantity is Numeric(14, 2)

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
# C0 controls except \t \n \r, DEL, and lone surrogates (only a JSON escape can make one; UTF-8 cannot encode it)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class InputError(ServiceError):
    """Input that cannot be used: a 400 (pages) or 400/422 (API) with ``message`` next to ``field``."""


# --- the parsers ------------------------------------------------------------------------------------------

def parse_int(raw, *, field: str | None = None, label: str = "数值", minimum: int = 0, maximum: int = INT_MAX) -> int:
    """A whole number from outside, within ``minimum`` … ``maximum`` (at most the ``integer`` column's range)."""
    if isinstance(raw, bool):
        raise InputError(f"{label}应为整数。", field)
    if isinstance(raw, int):
        value = raw
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip()
        if not _INTEGER.fullmatch(text):
            raise InputError(f"{label}应为整数。", field)
        if len(text.lstrip("+-").lstrip("0")) > 30:  # no need to build a huge int to know it is out of range
            raise InputError(_range_message(label, minimum, maximum), field)
        value = int(text)
    if value < minimum or value > maximum:
        raise InputError(_range_message(label, minimum, maximum), field)
    return value


def _range_message(label: str, minimum: int, maximum: int) -> str:
    return f"{label}超出范围，应为 {minimum}–{maximum} 之间的整数。"


def parse_id(raw, *, field: str | None = None, label: str = "编号") -> int:
    """An id (of any table): 1 … 2³¹−1."""
    return parse_int(raw, field=field, label=label, minimum=1, maximum=INT_MAX)


def parse_page(raw) -> int:
    """A page number on a page: missing, not a whole number or below 1 → the first page (a mistyped link still
    shows the list); a number beyond :data:`PAGE_MAX` → :class:`InputError`."""
    if raw is None or isinstance(raw, bool):
        return 1
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if not _INTEGER.fullmatch(text) or text.startswith("-") or not text.strip("+0"):
        return 1
    return parse_int(text, field="page", label="页码", minimum=1, maximum=PAGE_MAX)


def parse_money(raw, *, field: str | None = None, label: str = "金额", strict: bool = False,
                minimum: Decimal | int | None = None, integer_digits: int | None = None) -> Decimal:
    """An amount in 元 (two decimals) through :func:`exchange.money.to_money`: finite, within the money columns'
    ``Numeric(16, 2)`` (or ``integer_digits`` before the point), not below ``minimum`` when given."""
    from exchange.money import MAX_INTEGER_DIGITS, to_money
    try:
        value = to_money(raw, strict=strict, integer_digits=integer_digits or MAX_INTEGER_DIGITS)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{label}：{exc}", field) from None
    if minimum is not None and value < minimum:
        raise InputError(f"{label}不能小于 {minimum}。", field)
    return value


def parse_quantity(raw, *, field: str | None = None, label: str = "数量", minimum: Decimal | int | None = None
                   ) -> Decimal:
    """An area or count (Listing.quantity, ``Numeric(14, 2)``): as money, 12 digits before the point."""
    try:
        return parse_money(raw, field=field, label=label, minimum=minimum, integer_digits=QUANTITY_DIGITS)
    except InputError as exc:
        raise InputError(exc.message.replace("金额", "数值"), field) from None


_PERCENT = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+", re.ASCII)
_FULLWIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")


def parse_percent(raw, *, field: str | None = None, label: str = "费率", places: int = 3,
                  below: Decimal | int = 100) -> Decimal:
    """A percentage as people write it — "1" or "1%" meaning 1 %, "0.5" meaning half a percent (full-width digits
    and ％ accepted) — returned as the rate it stands for (1 → ``Decimal("0.01")``).  At most ``places`` decimals
    in the percentage, from 0 up to (not including) ``below`` %.  Anything else is refused in plain words."""
    text = printable(str(raw if raw is not None else "")).translate(_FULLWIDTH).strip().replace(" ", "")
    if text.endswith("%"):
        text = text[:-1]
    if not text:
        raise InputError(f"请填写{label}，如 1 表示 1%。", field)
    if text.startswith("-"):
        raise InputError(f"{label}不能为负数。", field)
    if not _PERCENT.fullmatch(text):
        raise InputError(f"{label}“{str(raw)[:20]}”不是一个数，请只填数字，如 1 表示 1%，0.5 表示 0.5%。", field)
    value = Decimal(text)
    if value >= below:
        raise InputError(f"{label}应小于 {below}%，如 1 表示 1%。", field)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise InputError(f"{label}最多保留 {places} 位小数（如 0.125%）。", field)
    return (value / 100).normalize() if value else Decimal("0")


_SPACES = re.compile(r"\s+")


def parse_text(raw, *, field: str | None = None, label: str = "内容", max_length: int = 100,
               required: bool = True) -> str:
    """A one-line text (a name, an employer, a reason) from outside: full-width spaces and runs of white space become
    one space, the ends trimmed; no control characters; at most ``max_length`` characters; ``""`` when not
    ``required`` and left empty."""
    text = str(raw if raw is not None else "")
    if has_control(text):
        raise InputError(_control_message(label), field)
    text = _SPACES.sub(" ", text).strip()  # \s: full-width spaces too
    if not text:
        if required:
            raise InputError(f"请填写{label}。", field)
        return ""
    if len(text) > max_length:
        raise InputError(f"{label}不能超过 {max_length} 个字（现有 {len(text)} 个）。", field)
    return text


DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2100, 12, 31)


def check_date(value: date | datetime, *, field: str | None = None, label: str = "日期") -> date | datetime:
    """``value`` (a date, or a datetime by its date) unchanged when within :data:`DATE_MIN` … :data:`DATE_MAX`."""
    day = value.date() if isinstance(value, datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        raise InputError(f"{label}超出范围，应在 {DATE_MIN.year} 年至 {DATE_MAX.year} 年之间。", field)
    return value


def has_control(text: str) -> bool:
    """Whether ``text`` holds a character no text field accepts (PostgreSQL refuses NUL outright)."""
    return bool(_CONTROL.search(text))


def printable(text: str) -> str:
    """``text`` with control characters replaced by U+FFFD — for keeping opaque outside bytes in a log."""
    return _CONTROL.sub("\ufffd", text)


def _control_message(what: str) -> str:
    return f"“{what}”含有不可见的控制字符（如 \\0），请删除后重新提交。"


# --- the same parsers on the current request's query string ----------------------------------------------

def arg_id(name: str, label: str = "编号") -> int | None:
    raw = (request.args.get(name) or "").strip()
    return parse_id(raw, field=name, label=label) if raw else None


def arg_page(name: str = "page") -> int:
    return parse_page(request.args.get(name))


def arg_money(name: str, label: str, *, minimum: Decimal | int | None = None) -> Decimal | None:
    raw = (request.args.get(name) or "").strip()
    return parse_money(raw, field=name, label=label, minimum=minimum) if raw else None


def arg_quantity(name: str, label: str, *, minimum: Decimal | int | None = None) -> Decimal | None:
    raw = (request.args.get(name) or "").strip()
    return parse_quantity(raw, field=name, label=label, minimum=minimum) if raw else None


# --- forms -----------------------------------------------------------------------------------------------

def form_id(value) -> int:
    """``coerce`` of a select whose options are ids (0 for "none", as the forms' blank option): refuses what no id
    can be (an InputError is a ValueError, which WTForms shows as the field's invalid value message)."""
    return parse_int(value, label="编号", minimum=0, maximum=INT_MAX)


class IdSelectField(SelectField):
    """A select of ids (org units, accounts, registrations …) read with :func:`parse_id`."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("coerce", form_id)
        kwargs.setdefault("invalid_value_message", "请从列表中选择。")
        kwargs.setdefault("invalid_choice_message", "请从列表中选择。")
        super().__init__(label, validators, **kwargs)


# --- paths -----------------------------------------------------------------------------------------------

class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` within the id columns' range: a number beyond it matches no route (404), as an unknown id."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=INT_MAX if max is None or max > INT_MAX else max,
                         signed=signed)

    def to_python(self, value: str):
        if len(value) > 30:  # a path segment never makes a huge int
            raise ValidationError()
        return super().to_python(value)


# --- the hooks -------------------------------------------------------------------------------------------

_JSON_DEPTH = 64


def _json_problem(data) -> tuple[str, str] | None:
    """(field, message) of the first string with a control character or non-finite number in a JSON document."""
    stack = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > _JSON_DEPTH:
            return path or "body", "JSON 嵌套层次过深。"
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and has_control(key):
                    return "body", _control_message("字段名")
                stack.append((name, item, depth + 1))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                stack.append((f"{path}[{i}]" if path else f"[{i}]", item, depth + 1))
        elif isinstance(value, str):
            if has_control(value):
                return path or "body", _control_message(path[:40] or "提交的内容")
        elif isinstance(value, float) and not math.isfinite(value):
            return path or "body", f"“{path[:40] or '提交的内容'}”不能是 NaN 或 Infinity，请填写数字。"
    return None


def _request_problem() -> tuple[str, str] | None:
    for source in (request.args, request.form):
        for key, values in source.lists():
            if has_control(key):
                return "query", _control_message("参数名")
            for value in values:
                if has_control(value):
                    return key, _control_message(key[:40])
    for key, storage in request.files.items(multi=True):
        if storage.filename and has_control(storage.filename):
            return key, _control_message(f"{key} 的文件名")
    if request.is_json and request.content_length != 0:
        try:
            data = request.get_json(silent=True)
        except RecursionError:
            return "body", "JSON 嵌套层次过深。"
        if data is not None:
            return _json_problem(data)
    return None


def refuse_control_characters():
    """Before every request: a control character in a path segment is a 404 (no such name); in the query
    string, a form, a file name or the JSON body a 400 naming the field."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and has_control(value):
            abort(404)
    problem = _request_problem()
    if problem is not None:
        field, message = problem
        raise InputError(message, field)
    return None


def _refused(exc: ServiceError):
    """A refusal no view caught — bad input here, or a service's rule: the user's message, never a server error.
    400 (``{"error": "invalid", "message", "fields"}`` in the API), or 409 for a workflow step out of order."""
    from exchange.extensions import db
    db.session.rollback()
    problems = getattr(exc, "problems", None)
    status = 409 if problems is not None else 400
    if request.path.startswith("/api/"):
        if problems is not None:
            return {"error": "workflow", "message": exc.message, "problems": problems}, 409
        body = {"error": "invalid", "message": exc.message}
        if exc.field:
            body["fields"] = {exc.field: [exc.message]}
        return body, 400
    message = exc.message + ("" if not problems else " " + " ".join(problems))
    template = "errors/400.html" if status == 400 else "errors/generic.html"
    return render_template(template, code=status, title="请求有误" if status == 400 else "暂不能办理",
                           message=message), status


def init_app(app: Flask) -> None:
    """Install the bounded ``int`` converter (before any route is added), the control-character check, and the
    answer to an :class:`InputError` (or any other service refusal) that no view caught."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_control_characters)
    app.register_error_handler(ServiceError, _refused)
