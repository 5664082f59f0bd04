"""exchange.money: to_money, format_yuan and 大写金额.

The 大写 expectations in CASES are written out by hand.  The property checks run over every whole
amount from 0 to 20,000 元, every amount below 10 元 to the 分, and several thousand seeded random
amounts (many of them zero-heavy, to exercise the 零 rules), and compare each result with

* an independent reader (:func:`parse_upper`) that turns the 大写 string back into a Decimal;
* an independent writer (:func:`naive_upper`) built the textbook way — every digit with its place
  unit, then regular-expression clean-up of the zeros — rather than by 4-digit sections;
* the character-set and 零-placement rules.
"""
from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest

from exchange.money import CENT, MAX_AMOUNT, format_yuan, to_chinese_upper, to_money

D = Decimal

# --- hand-checked 大写 table ------------------------------------------------------------------------

CASES = [
    # zero and below one 元: no 零元, 整 only after 元
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("0.01", "壹分"),
    ("0.05", "伍分"),
    ("0.10", "壹角"),
    ("0.50", "伍角"),
    ("0.55", "伍角伍分"),
    ("0.99", "玖角玖分"),
    # 元 / 角 / 分 and 整
    ("1", "壹元整"),
    ("1.00", "壹元整"),
    ("1.05", "壹元零伍分"),
    ("1.5", "壹元伍角"),
    ("1.50", "壹元伍角"),
    ("1.55", "壹元伍角伍分"),
    ("9", "玖元整"),
    ("10.05", "壹拾元零伍分"),
    ("100.50", "壹佰元伍角"),
    ("1409.50", "壹仟肆佰零玖元伍角"),      # 《正确填写票据和结算凭证的基本规定》 examples
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("40000.40", "肆万元肆角"),
    ("3000005.01", "叁佰万零伍元零壹分"),
    # 壹拾, never a bare 拾
    ("10", "壹拾元整"),
    ("11", "壹拾壹元整"),
    ("19", "壹拾玖元整"),
    ("20", "贰拾元整"),
    ("110", "壹佰壹拾元整"),
    ("100010", "壹拾万零壹拾元整"),
    # zeros inside a section
    ("100", "壹佰元整"),
    ("101", "壹佰零壹元整"),
    ("1000", "壹仟元整"),
    ("1001", "壹仟零壹元整"),
    ("1010", "壹仟零壹拾元整"),
    ("1100", "壹仟壹佰元整"),
    # 万
    ("10000", "壹万元整"),
    ("10001", "壹万零壹元整"),
    ("10010", "壹万零壹拾元整"),
    ("10100", "壹万零壹佰元整"),
    ("11000", "壹万壹仟元整"),
    ("12000", "壹万贰仟元整"),
    ("12,000.50", "壹万贰仟元伍角"),
    ("100000", "壹拾万元整"),
    ("100001", "壹拾万零壹元整"),
    ("100100", "壹拾万零壹佰元整"),
    ("101000", "壹拾万壹仟元整"),
    ("105000", "壹拾万伍仟元整"),
    ("120000.5", "壹拾贰万元伍角"),
    ("1000001", "壹佰万零壹元整"),
    ("1010101", "壹佰零壹万零壹佰零壹元整"),
    ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    ("10000000", "壹仟万元整"),
    # 亿
    ("100000000", "壹亿元整"),
    ("100000001", "壹亿零壹元整"),
    ("100001000", "壹亿零壹仟元整"),
    ("100010000", "壹亿零壹万元整"),
    ("101000000", "壹亿零壹佰万元整"),
    ("110000000", "壹亿壹仟万元整"),
    ("1000000000", "壹拾亿元整"),
    ("100000000000", "壹仟亿元整"),
    ("100000000001", "壹仟亿零壹元整"),
    # 万亿 (the number of 亿 itself counted with 万)
    ("1000000000000", "壹万亿元整"),
    ("1000000000001", "壹万亿零壹元整"),
    ("1000000010000", "壹万亿零壹万元整"),
    ("1000010000000", "壹万亿壹仟万元整"),
    ("1000100000000", "壹万零壹亿元整"),
    ("1200000000000", "壹万贰仟亿元整"),
    ("10000000000000", "壹拾万亿元整"),
    ("12345678901234.56", "壹拾贰万叁仟肆佰伍拾陆亿柒仟捌佰玖拾万壹仟贰佰叁拾肆元伍角陆分"),
    ("99999999999999.99", "玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    # negative
    ("-1.05", "负壹元零伍分"),
    ("-0.50", "负伍角"),
    ("-12000", "负壹万贰仟元整"),
    ("-0.00", "零元整"),
]


@pytest.mark.parametrize(("amount", "expected"), CASES)
def test_chinese_upper_table(amount, expected):
    assert to_chinese_upper(amount) == expected
    assert to_chinese_upper(D(amount.replace(",", ""))) == expected


def test_table_is_large_enough_and_hand_checked_by_the_reader():
    assert len(CASES) >= 40
    for amount, expected in CASES:
        assert parse_upper(expected) == D(amount.replace(",", "")).quantize(CENT)


def test_chinese_upper_accepts_int():
    assert to_chinese_upper(0) == "零元整"
    assert to_chinese_upper(12000) == "壹万贰仟元整"
    assert to_chinese_upper(-10) == "负壹拾元整"


def test_chinese_upper_refuses_sub_fen_and_float():
    with pytest.raises(ValueError, match="两位小数"):
        to_chinese_upper(D("1.005"))
    with pytest.raises(ValueError, match="两位小数"):
        to_chinese_upper("0.001")
    assert to_chinese_upper(D("1.500")) == "壹元伍角"  # trailing zeros are not sub-分 digits
    with pytest.raises(TypeError):
        to_chinese_upper(1.5)
    with pytest.raises(ValueError):
        to_chinese_upper("100000000000000")


# --- to_money -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (D("12000"), "12000.00"),
    (D("0.1"), "0.10"),
    (D("1E+3"), "1000.00"),
    (D("-0"), "0.00"),
    (D("-0.001"), "0.00"),
    (D("1E-30"), "0.00"),
    (12000, "12000.00"),
    (0, "0.00"),
    (-5, "-5.00"),
    (99999999999999, "99999999999999.00"),
    ("12000", "12000.00"),
    ("12,000.50", "12000.50"),
    ("1,234,567.89", "1234567.89"),
    (" 1.5 ", "1.50"),
    ("\t7\n", "7.00"),
    ("+3", "3.00"),
    ("-3.1", "-3.10"),
    ("-1,000", "-1000.00"),
    (".5", "0.50"),
    ("5.", "5.00"),
    ("007", "7.00"),
    ("１２，０００．５０", "12000.50"),  # full-width input from a Chinese IME
    ("99999999999999.99", "99999999999999.99"),
    ("-99999999999999.99", "-99999999999999.99"),
    ("0." + "0" * 60 + "1", "0.00"),
])
def test_to_money_accepts(value, expected):
    result = to_money(value)
    assert isinstance(result, Decimal)
    assert str(result) == expected
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(("value", "expected"), [
    ("1.005", "1.01"),    # ROUND_HALF_UP, not banker's rounding
    ("1.015", "1.02"),
    ("1.025", "1.03"),
    ("1.004", "1.00"),
    ("1.0049999", "1.00"),
    ("2.675", "2.68"),    # the classic float trap: float(2.675) rounds to 2.67
    ("-1.005", "-1.01"),  # half-up rounds ties away from zero
    ("-0.004", "0.00"),
    ("0.005", "0.01"),
    ("99999999999999.994", "99999999999999.99"),
])
def test_to_money_rounds_half_up(value, expected):
    assert str(to_money(value)) == expected
    assert str(to_money(D(value))) == expected


def test_to_money_is_not_affected_by_the_thread_decimal_context():
    import decimal
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        assert str(to_money("12345.675")) == "12345.68"
        assert to_chinese_upper("12345.67") == "壹万贰仟叁佰肆拾伍元陆角柒分"


def test_strict_refuses_more_than_two_places():
    assert to_money("1.5", strict=True) == D("1.50")
    assert to_money("1.500", strict=True) == D("1.50")
    assert to_money(D("2.10000"), strict=True) == D("2.10")
    for value in ("1.005", "1.001", D("0.125"), "12,000.505"):
        with pytest.raises(ValueError, match="^金额最多保留两位小数"):
            to_money(value, strict=True)


@pytest.mark.parametrize("value", [
    "abc", "1.2.3", "12元", "￥12", "1e5", "1E5", "0x10", "1_000", "12 000", "1,2", "12,00",
    "1,0000", ",100", "100,", "1,,000", "1.000,5", "--1", "+-1", "-", ".", "1 .5", "一百",
    "NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN",
    D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity"),
])
def test_to_money_rejects_garbage(value):
    with pytest.raises(ValueError, match="^金额格式不正确"):
        to_money(value)


@pytest.mark.parametrize("value", ["", "   ", "\u3000"])
def test_to_money_rejects_empty(value):
    with pytest.raises(ValueError, match="金额不能为空"):
        to_money(value)


@pytest.mark.parametrize("value", [
    "100000000000000", "-100000000000000", 10**14, -(10**14), D("1E+14"), D("1E+30"),
    D("1E+999999"), "99999999999999.995", "-99999999999999.995", "123,456,789,012,345",
])
def test_to_money_rejects_more_than_fourteen_integer_digits(value):
    with pytest.raises(ValueError, match="^金额超出范围"):
        to_money(value)


@pytest.mark.parametrize("value", [1.5, 0.0, float("nan"), float("inf"), True, False, None, [1], b"1",
                                   object()])
def test_to_money_type_errors(value):
    with pytest.raises(TypeError):
        to_money(value)


def test_float_message_is_explicit():
    with pytest.raises(TypeError, match="浮点数"):
        to_money(0.1)


def test_max_amount():
    assert to_money(MAX_AMOUNT) == MAX_AMOUNT
    assert to_money(MAX_AMOUNT, strict=True) == MAX_AMOUNT


# --- format_yuan ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (0, "0.00"),
    (D("-0"), "0.00"),
    (D("0.5"), "0.50"),
    (D("999.99"), "999.99"),
    (1000, "1,000.00"),
    (D("12000"), "12,000.00"),
    ("12000.5", "12,000.50"),
    ("12,000.50", "12,000.50"),
    (D("1234567.891"), "1,234,567.89"),
    (D("1.005"), "1.01"),
    (-12000, "-12,000.00"),
    (D("-1234.5"), "-1,234.50"),
    (D("-999"), "-999.00"),
    (MAX_AMOUNT, "99,999,999,999,999.99"),
    (-MAX_AMOUNT, "-99,999,999,999,999.99"),
])
def test_format_yuan(value, expected):
    assert format_yuan(value) == expected


def test_format_yuan_refuses_float_and_garbage():
    with pytest.raises(TypeError):
        format_yuan(12000.0)
    with pytest.raises(ValueError):
        format_yuan("abc")


def test_format_yuan_round_trips_through_to_money():
    rng = random.Random(20261122)
    for _ in range(2000):
        amount = D(rng.randrange(-10**16 + 1, 10**16)).scaleb(-2)
        assert to_money(format_yuan(amount)) == amount


# --- independent reader and writer -------------------------------------------------------------------

_NUMERALS = "零壹贰叁肆伍陆柒捌玖"
_DIGIT_VALUE = {c: i for i, c in enumerate(_NUMERALS) if i}
_SMALL_UNIT = {"拾": 10, "佰": 100, "仟": 1000}
ALLOWED = set(_NUMERALS) | set("拾佰仟万亿元角分整负")


def _read_integer(text: str) -> int:
    """Read e.g. 壹万零壹亿贰仟万 left to right; checks the structure as it goes."""
    total = 0          # everything already multiplied by 亿
    below_yi = 0       # the part multiplied by 万 since the last 亿
    section = 0        # the current 4-digit section
    digit: int | None = None
    last_unit = 10**4  # place units within a section must strictly decrease
    previous = ""
    for ch in text:
        if ch == "零":
            assert previous not in ("", "零"), text
        elif ch in _DIGIT_VALUE:
            assert digit is None, text
            digit = _DIGIT_VALUE[ch]
        elif ch in _SMALL_UNIT:
            assert digit is not None, f"{ch} without a digit in {text}"
            assert _SMALL_UNIT[ch] < last_unit, text
            last_unit = _SMALL_UNIT[ch]
            section += digit * _SMALL_UNIT[ch]
            digit = None
        elif ch == "万":
            value = section + (digit or 0)
            assert value, text
            below_yi += value * 10**4
            section, digit, last_unit = 0, None, 10**4
        elif ch == "亿":
            value = below_yi + section + (digit or 0)
            assert value, text
            total += value * 10**8
            below_yi, section, digit, last_unit = 0, 0, None, 10**4
        else:
            raise AssertionError(f"unexpected {ch!r} in {text}")
        if previous == "零":
            assert ch in _DIGIT_VALUE, f"零 must be followed by a digit in {text}"
        previous = ch
    assert previous != "零", text
    return total + below_yi + section + (digit or 0)


_FRACTION = re.compile(r"(零)?(?:([壹贰叁肆伍陆柒捌玖])角)?(?:([壹贰叁肆伍陆柒捌玖])分)?")


def parse_upper(text: str) -> Decimal:
    """Read a 大写金额 back into a Decimal with two places."""
    negative = text.startswith("负")
    if negative:
        text = text[1:]
        assert text != "零元整", "负零"
    if text == "零元整":
        return D("0.00")
    if "元" in text:
        integer_text, rest = text.split("元")
        yuan = _read_integer(integer_text)
        assert yuan > 0
    else:
        yuan, rest = 0, text
    if rest == "整":
        assert yuan > 0
        jiao = fen = 0
    else:
        m = _FRACTION.fullmatch(rest)
        assert m and rest, f"bad 角分 part {rest!r} in {text}"
        zero, jiao_ch, fen_ch = m.groups()
        jiao = _DIGIT_VALUE[jiao_ch] if jiao_ch else 0
        fen = _DIGIT_VALUE[fen_ch] if fen_ch else 0
        # 零 exactly when there are 元, no 角 and some 分
        assert bool(zero) == (yuan > 0 and jiao == 0 and fen > 0), text
    amount = D(yuan) + D(jiao) / 10 + D(fen) / 100
    return (-amount if negative else amount).quantize(CENT)


_PLACE_UNITS = "元拾佰仟万拾佰仟亿拾佰仟万拾"  # places 0..13; place 12 is the 万 of 万亿


def naive_upper(amount: Decimal) -> str:
    """The textbook construction: every digit with its place unit, then clean up the zeros."""
    negative = amount < 0
    cents = int(abs(amount) * 100)
    yuan, rest = divmod(cents, 100)
    if yuan:
        digits = str(yuan)
        s = "".join(_NUMERALS[int(d)] + _PLACE_UNITS[len(digits) - 1 - i] for i, d in enumerate(digits))
        for _ in range(2):
            s = re.sub("零[拾佰仟]", "零", s)
            s = re.sub("零+", "零", s)
            s = re.sub("零([万亿元])", r"\1", s)
            s = s.replace("亿万", "亿零")  # an all-zero 万 section after 亿 still needs its 零
    else:
        s = ""
    jiao, fen = divmod(rest, 10)
    if not yuan and not rest:
        s = "零元整"
    elif not rest:
        s += "整"
    else:
        if jiao:
            s += _NUMERALS[jiao] + "角"
        elif yuan:
            s += "零"
        if fen:
            s += _NUMERALS[fen] + "分"
    return ("负" if negative and cents else "") + s


def test_naive_writer_agrees_with_the_table():
    for amount, expected in CASES:
        assert naive_upper(D(amount.replace(",", ""))) == expected, amount


def _assert_well_formed(text: str) -> None:
    assert set(text) <= ALLOWED, text
    if text == "零元整":  # zero is the one amount written with a leading 零
        return
    assert "零零" not in text, text
    assert not text.endswith("零"), text
    for unit in "元万亿角分整":
        assert "零" + unit not in text, text
    assert text.count("负") <= 1 and (("负" not in text) or text.startswith("负")), text
    body = text.removeprefix("负")
    assert not body.startswith("零"), text
    assert not re.search(r"(^|[^壹贰叁肆伍陆柒捌玖])拾", body), f"bare 拾 in {text}"
    assert text.endswith(("整", "角", "分")), text
    assert not text.endswith(("角整", "分整")), text
    assert text.count("元") <= 1 and text.count("亿") <= 1, text


def _check(amount: Decimal) -> None:
    text = to_chinese_upper(amount)
    _assert_well_formed(text)
    assert parse_upper(text) == amount, (amount, text)
    assert text == naive_upper(amount), (amount, text)


def test_every_whole_amount_up_to_20000():
    for n in range(0, 20001):
        _check(D(n).quantize(CENT))


def test_every_amount_below_ten_yuan():
    for cents in range(0, 1000):
        _check(D(cents).scaleb(-2))
        _check(-D(cents).scaleb(-2) if cents else D("0.00"))


def _random_amount(rng: random.Random, zero_bias: float) -> Decimal:
    length = rng.randint(1, 14)
    digits = [str(rng.randint(1, 9))] + [
        "0" if rng.random() < zero_bias else str(rng.randint(1, 9)) for _ in range(length - 1)]
    cents = rng.choice([0, 0, rng.randint(1, 99), rng.randint(1, 9), rng.randint(1, 9) * 10])
    amount = D("".join(digits)) + D(cents).scaleb(-2)
    return -amount if rng.random() < 0.1 else amount


def test_random_amounts():
    rng = random.Random(1949)
    for _ in range(4000):
        _check(_random_amount(rng, zero_bias=0.2))


def test_random_zero_heavy_amounts():
    rng = random.Random(2026)
    for _ in range(4000):
        _check(_random_amount(rng, zero_bias=0.8))


def test_every_single_nonzero_digit_position_and_pairs():
    # 1, 10, 100, …, 10^13 and every d·10^i + e·10^j pattern with two non-zero digits
    for i in range(14):
        _check(D(10**i))
        for j in range(i):
            _check(D(10**i + 3 * 10**j))
            _check(D(10**i + 3 * 10**j) + D("0.07"))


def test_extremes():
    _check(MAX_AMOUNT)
    _check(-MAX_AMOUNT)
    _check(D("0.01"))
    _check(D("-0.01"))
    _check(D("10000000000000.00"))
