"""Money: parsing, display and 大写金额 (Chinese capital-numeral amounts).

Every amount on the platform is a :class:`decimal.Decimal` in 元 with exactly two decimal places
(分), matching the ``Numeric(16, 2)`` database columns: at most 14 digits before the decimal point,
so the largest amount is 99,999,999,999,999.99 元.  Floats are never accepted anywhere — a float
cannot represent 0.10 exactly, and a rounding slip on a contract price is not acceptable — so every
function here raises :class:`TypeError` when handed one.

:func:`to_money`
    Turns user input or stored values into such a Decimal, rounding half-up to the 分
    (``strict=False``, the default) or refusing anything finer than a 分 (``strict=True``).

:func:`format_yuan`
    ``Decimal("12000")`` → ``"12,000.00"`` for tables and receipts.

:func:`to_chinese_upper`
    The 大写 form required on contracts, receipts and bank forms, following the People's Bank of
    China rules for writing amounts (《支付结算办法》附件《正确填写票据和结算凭证的基本规定》):

    * digits 零壹贰叁肆伍陆柒捌玖, place units 拾佰仟, section units 万 and 亿; amounts of
      10^12 and more read as so-many 亿, where the count of 亿 itself uses 万 (1,0000,0000,0000 →
      壹万亿, 1,0001,0000,0000 → 壹万零壹亿);
    * "到元为止的，在元之后写整字" — 壹元整; "到角为止的，在角之后可以不写整字" — we write 壹元伍角
      without 整; never 整 after 分;
    * a run of zeros inside the number is written as a single 零 (1001 → 壹仟零壹元整, 100010000 →
      壹亿零壹万元整); zeros at the end of a section are not written (100 → 壹佰元整, 100000 →
      壹拾万元整);
    * 壹拾 is always written out in full (10 → 壹拾元整), as banks require, so nothing can be
      prefixed to a bare 拾;
    * when the 元 part is non-zero, 角 is zero and 分 is not, 零 separates them (1.05 → 壹元零伍分);
      the rule also permits 零 after a 元 digit of 0 (100.50 → 壹佰元零伍角) but does not require it,
      and we do not write it (壹佰元伍角);
    * below one 元 no 零元 is written (0.50 → 伍角, 0.05 → 伍分); zero is 零元整;
    * negative amounts are prefixed with 负.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

__all__ = [
    "CENT",
    "MAX_AMOUNT",
    "MAX_INTEGER_DIGITS",
    "format_yuan",
    "to_chinese_upper",
    "to_money",
]

CENT = Decimal("0.01")
MAX_INTEGER_DIGITS = 14
MAX_AMOUNT = Decimal("99999999999999.99")
_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS

# Independent of whatever the thread's current decimal context happens to be.
_CONTEXT = Context(prec=34, rounding=ROUND_HALF_UP, traps=[InvalidOperation])

# Optional sign, then either plain digits or digits with correctly placed thousands commas, then an
# optional fraction; or a bare fraction such as ".5".
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)",
    re.ASCII,
)

_MSG_FORMAT = "金额格式不正确，请填写数字，例如 12000 或 12,000.50"
_MSG_EMPTY = "金额不能为空"
_MSG_RANGE = f"金额超出范围：整数部分最多{MAX_INTEGER_DIGITS}位（不能超过99,999,999,999,999.99元）"
_MSG_PLACES = "金额最多保留两位小数（精确到分）"


def _reject_floats(value: object) -> None:
    if isinstance(value, float):
        raise TypeError("金额不能使用浮点数（float），请使用 Decimal、整数或字符串")


def _parse_str(text: str) -> Decimal:
    # NFKC turns full-width input from a Chinese IME (１２，０００．５０) into ASCII.
    s = unicodedata.normalize("NFKC", text).strip()
    if not s:
        raise ValueError(_MSG_EMPTY)
    if not _NUMBER.fullmatch(s):
        raise ValueError(_MSG_FORMAT)
    return Decimal(s.replace(",", ""))


def to_money(value: Decimal | int | str, *, strict: bool = False,
             integer_digits: int = MAX_INTEGER_DIGITS) -> Decimal:
    """Return ``value`` as a Decimal amount in 元 with exactly two decimal places.

    Accepts a :class:`~decimal.Decimal`, an :class:`int` or a string such as ``"12000"``,
    ``"12,000.50"`` or ``" 1.5 "`` (surrounding blanks are stripped; thousands commas must be in
    the right places).  Digits beyond the 分 are rounded half-up (away from zero on a tie) unless
    ``strict`` is true, in which case an amount that is not a whole number of 分 raises
    :class:`ValueError` (trailing zeros such as ``"1.500"`` are fine).

    Raises :class:`TypeError` for a float, a bool or any other type, and :class:`ValueError` (with
    a Chinese message for the user) for an empty or malformed string, NaN, Infinity, or an amount
    with more than 14 digits before the decimal point (``integer_digits`` for a narrower column, e.g. 12 for a
    ``Numeric(14, 2)`` quantity).  Negative amounts are allowed; negative zero comes back as ``Decimal("0.00")``.
    """
    _reject_floats(value)
    if isinstance(value, bool):
        raise TypeError("金额不能是布尔值")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        d = _parse_str(value)
    else:
        raise TypeError(f"金额应为 Decimal、整数或字符串，不能是 {type(value).__name__}")

    if not d.is_finite():  # NaN, sNaN, ±Infinity
        raise ValueError(_MSG_FORMAT)
    limit, message = _LIMIT, _MSG_RANGE
    if integer_digits != MAX_INTEGER_DIGITS:
        if not 1 <= integer_digits <= MAX_INTEGER_DIGITS:
            raise ValueError(f"integer_digits must be 1–{MAX_INTEGER_DIGITS}")
        limit = Decimal(10) ** integer_digits
        message = f"数值超出范围：整数部分最多{integer_digits}位"
    if d.copy_abs() >= limit:
        raise ValueError(message)
    q = d.quantize(CENT, context=_CONTEXT)
    if strict and q != d:
        raise ValueError(_MSG_PLACES)
    if q.copy_abs() >= limit:  # e.g. 99999999999999.995 rounds up to 10^14
        raise ValueError(message)
    if q.is_zero():
        q = q.copy_abs()
    return q


def format_yuan(value: Decimal | int | str) -> str:
    """``12000`` → ``"12,000.00"``; ``Decimal("-1234.5")`` → ``"-1,234.50"``.

    The value goes through :func:`to_money` first (so a float raises TypeError and sub-分 digits
    are rounded half-up).  No currency sign or 元 is added.
    """
    return f"{to_money(value):,.2f}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ((1000, "仟"), (100, "佰"), (10, "拾"), (1, ""))
_WAN = 10**4
_YI = 10**8


def _section_upper(n: int) -> str:
    """1 ≤ n ≤ 9999 → e.g. 1010 → 壹仟零壹拾 (a single 零 for inner zeros, none at the end)."""
    out: list[str] = []
    pending_zero = False
    for value, unit in _PLACES:
        digit = n // value % 10
        if digit == 0:
            if out:
                pending_zero = True
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[digit] + unit)
    return "".join(out)


def _integer_upper(n: int) -> str:
    """n ≥ 1 → the 大写 reading of the integer, without 元.

    n = high × 10^k + low with 10^k the largest of 亿 or 万 not above n: write ``high`` followed by
    亿/万, then ``low`` — preceded by a single 零 when ``low`` does not fill the digits just below
    the unit (its leading place is zero), and nothing at all when ``low`` is 0.
    """
    for base, unit in ((_YI, "亿"), (_WAN, "万")):
        if n >= base:
            high, low = divmod(n, base)
            text = _integer_upper(high) + unit
            if low:
                if low < base // 10:
                    text += "零"
                text += _integer_upper(low)
            return text
    return _section_upper(n)


def to_chinese_upper(value: Decimal | int | str) -> str:
    """Return the 大写金额 for ``value``, e.g. ``Decimal("1234567.89")`` →
    ``"壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"``.

    The value goes through ``to_money(value, strict=True)``: an amount with digits below the 分
    raises :class:`ValueError` rather than printing a rounded figure on a contract.  See the module
    docstring for the rules.
    """
    q = to_money(value, strict=True)
    sign = "负" if q < 0 else ""
    cents = int(q.copy_abs().scaleb(2, context=_CONTEXT))
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)

    if yuan == 0 and rest == 0:
        return "零元整"
    parts: list[str] = []
    if yuan:
        parts.append(_integer_upper(yuan) + "元")
        if rest == 0:
            parts.append("整")
    if jiao:
        parts.append(_DIGITS[jiao] + "角")
    elif fen and yuan:
        parts.append("零")
    if fen:
        parts.append(_DIGITS[fen] + "分")
    return sign + "".join(parts)
