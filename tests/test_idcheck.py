"""exchange.idcheck: 身份证号, 统一社会信用代码, mobile numbers and masks."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from exchange.idcheck import (
    PROVINCE_CODES,
    USCC_ALPHABET,
    USCC_CATEGORIES,
    IdCheckError,
    check_mobile,
    check_resident_id,
    check_uscc,
    make_org_code,
    make_org_code_check,
    make_resident_id,
    make_uscc,
    mask_bank_account,
    mask_mobile,
    mask_name,
    mask_resident_id,
    resident_id_birthdate,
    resident_id_gender,
    uscc_check_char,
    uscc_is_rural_collective,
)

# --- 居民身份证号 ------------------------------------------------------------------------------------

# The two examples printed in GB 11643-1999 itself.
STANDARD_IDS = ["11010519491231002X", "440524188001010014"]

VALID_IDS = [
    make_resident_id("43068219900101123"),   # 临湘, a man born 1990-01-01
    make_resident_id("43068219900101100"),   # check character X
    make_resident_id("43068220000229002"),   # 29 February of a leap year, a woman
    make_resident_id("65010219991231001"),
    make_resident_id("81000019800101001"),   # residence permit for Hong Kong residents
    make_resident_id("83000019800101002"),   # residence permit for Taiwan residents
    *STANDARD_IDS,
]

MSG_SHAPE = "^身份证号应为18位"
MSG_DATE = "^身份证号中的出生日期不正确"
MSG_CHECK = "^身份证号校验位不正确，请核对后重新输入$"
MSG_PROVINCE = "^身份证号前两位（省份代码）不正确"


def test_make_resident_id_reproduces_the_standard_examples():
    assert make_resident_id("11010519491231002") == "11010519491231002X"
    assert make_resident_id("44052418800101001") == "440524188001010014"
    assert make_resident_id("43068219900101123") == "430682199001011237"
    assert make_resident_id("43068219900101100") == "43068219900101100X"


@pytest.mark.parametrize("prefix", ["", "4306821990010112", "430682199001011234", "4306821990010112X",
                                    "43068219900101 23", "４３０６８２１９９００１０１１２３"])
def test_make_resident_id_needs_17_ascii_digits(prefix):
    with pytest.raises(IdCheckError):
        make_resident_id(prefix)


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_resident_ids(number):
    assert check_resident_id(number) == number
    assert check_resident_id(number, today=date(2026, 11, 22)) == number


def test_resident_id_normalisation():
    assert check_resident_id("43068219900101100x") == "43068219900101100X"
    assert check_resident_id("  11010519491231002x\n") == "11010519491231002X"
    assert check_resident_id("430682 19900101 1237") == "430682199001011237"
    assert check_resident_id("４３０６８２１９９００１０１１２３７") == "430682199001011237"  # full-width
    assert check_resident_id("43068219900101100Ｘ") == "43068219900101100X"


@pytest.mark.parametrize("number", VALID_IDS)
def test_every_single_character_corruption_is_rejected(number):
    rejected = 0
    for i, original in enumerate(number):
        for replacement in "0123456789XA":
            if replacement == original:
                continue
            corrupted = number[:i] + replacement + number[i + 1:]
            with pytest.raises(IdCheckError):
                check_resident_id(corrupted)
            rejected += 1
    assert rejected == 18 * 11


@pytest.mark.parametrize("number", VALID_IDS)
def test_every_adjacent_transposition_is_rejected(number):
    for i in range(16):  # within the 17 digits covered by the check character
        a, b = number[i], number[i + 1]
        if a == b:
            continue
        with pytest.raises(IdCheckError):
            check_resident_id(number[:i] + b + a + number[i + 2:])


def test_wrong_check_digit_message():
    number = make_resident_id("43068219900101123")
    for wrong in "0123456789X":
        if wrong != number[-1]:
            with pytest.raises(IdCheckError, match=MSG_CHECK):
                check_resident_id(number[:-1] + wrong)


@pytest.mark.parametrize("value", [
    "43068219900101123",          # 17
    "4306821990010112377",        # 19
    "430682900101123",            # an old 15-digit number
    "43068219900101123Y",
    "4306821990X101123X",
    "43068219900101-237",
    "x30682199001011237",
    "430682199001011２3七",
])
def test_wrong_length_or_characters(value):
    with pytest.raises(IdCheckError, match=MSG_SHAPE):
        check_resident_id(value)


def test_length_message_says_how_many_digits_were_typed():
    with pytest.raises(IdCheckError, match="现在是17位"):
        check_resident_id("43068219900101123")


@pytest.mark.parametrize("value", ["", "   ", None])
def test_empty_resident_id(value):
    with pytest.raises(IdCheckError, match="请填写身份证号"):
        check_resident_id(value)


def test_resident_id_must_be_a_string():
    with pytest.raises(TypeError):
        check_resident_id(430682199001011237)


@pytest.mark.parametrize("birth", [
    "19900230",  # 30 February
    "19900231",
    "19900229",  # 1990 is not a leap year
    "19000229",  # nor is 1900
    "20230229",
    "19901301",  # month 13
    "19900001",  # month 00
    "19900100",  # day 00
    "19900132",
    "19900431",  # 31 April
    "00000000",
    "17991231",  # before 1800
])
def test_bad_birth_dates(birth):
    number = make_resident_id("430682" + birth + "123")  # correct check character
    with pytest.raises(IdCheckError, match=MSG_DATE):
        check_resident_id(number)


def test_leap_days_that_exist():
    for birth in ("20000229", "19960229", "18800229"):
        number = make_resident_id("430682" + birth + "123")
        assert check_resident_id(number) == number


def test_future_birth_date_only_with_today():
    number = make_resident_id("43068220261123001")  # born 2026-11-23
    assert check_resident_id(number) == number  # today=None: no future check
    with pytest.raises(IdCheckError, match=MSG_DATE):
        check_resident_id(number, today=date(2026, 11, 22))
    assert check_resident_id(number, today=date(2026, 11, 23)) == number  # born today
    with pytest.raises(IdCheckError, match=MSG_DATE):
        check_resident_id(number, today=datetime(2026, 11, 22, 23, 59))
    assert check_resident_id(number, today=datetime(2026, 11, 23, 0, 1)) == number


def test_all_province_codes_accepted():
    for code in PROVINCE_CODES:
        number = make_resident_id(code + "010219800101001")
        assert check_resident_id(number) == number


def test_province_codes_are_the_gbt2260_list():
    mainland = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
                "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
                "65"}
    assert set(PROVINCE_CODES) == mainland | {"71", "81", "82", "83"}


@pytest.mark.parametrize("code", ["00", "10", "16", "20", "24", "30", "38", "40", "47", "49", "55",
                                  "60", "66", "70", "72", "80", "84", "90", "91", "93", "99"])
def test_bad_province(code):
    number = make_resident_id(code + "068219900101123")
    with pytest.raises(IdCheckError, match=MSG_PROVINCE):
        check_resident_id(number)


def test_birthdate_and_gender():
    assert resident_id_birthdate("11010519491231002X") == date(1949, 12, 31)
    assert resident_id_gender("11010519491231002X") == "女"   # sequence 002
    assert resident_id_birthdate("440524188001010014") == date(1880, 1, 1)
    assert resident_id_gender("440524188001010014") == "男"   # sequence 001
    assert resident_id_birthdate("43068220000229002" + "6") == date(2000, 2, 29)
    assert resident_id_gender(make_resident_id("43068219900101123")) == "男"
    assert resident_id_gender(make_resident_id("43068219900101124")) == "女"
    assert resident_id_gender(make_resident_id("43068219900101100").lower()) == "女"


def test_birthdate_and_gender_validate_first():
    with pytest.raises(IdCheckError, match=MSG_CHECK):
        resident_id_birthdate("430682199001011238")
    with pytest.raises(IdCheckError, match=MSG_DATE):
        resident_id_gender(make_resident_id("43068219900230123"))


# --- 统一社会信用代码 ---------------------------------------------------------------------------------

# Real, publicly documented codes.  The first is the example printed in GB 32100-2015; the others
# are published on the business licences of well-known companies.
REAL_USCCS = [
    "91350100M000100Y43",   # GB 32100-2015 example
    "91110108551385082Q",   # 北京小米科技有限责任公司
    "91440300708461136T",   # 深圳市腾讯计算机系统有限公司
    "914403001922038216",   # 华为技术有限公司
    "91330100799655058B",   # 阿里巴巴（中国）有限公司
]

RURAL_COLLECTIVE = make_uscc("N2430682" + make_org_code("MA4L0K2P"))
VALID_USCCS = [
    *REAL_USCCS,
    RURAL_COLLECTIVE,
    make_uscc("N1430682" + make_org_code("MA4L0K3Q")),
    make_uscc("9343068200000002" + make_org_code_check("00000002")),   # 农民专业合作社
    make_uscc("5443068200000003" + make_org_code_check("00000003")),   # 村民委员会
    make_uscc("1210000000000004" + make_org_code_check("00000004")),   # a national 事业单位
    make_uscc("Y1430682" + make_org_code("XY123456")),
]

MSG_USCC_CHECK = "^统一社会信用代码校验位不正确，请核对后重新输入$"


def test_check_characters_of_the_standard_example():
    assert make_org_code("M000100Y") == "M000100Y4"
    assert make_org_code_check("M000100Y") == "4"
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert make_uscc("91350100M000100Y4") == "91350100M000100Y43"
    assert RURAL_COLLECTIVE == "N2430682MA4L0K2P5D"


def test_org_code_check_special_values():
    # 11 - (sum mod 11) gives 10 → X and 11 → 0; find a prefix for each and check both ways.
    seen = {}
    for n in range(2000):
        prefix = f"{n:08d}"
        seen.setdefault(make_org_code_check(prefix), prefix)
    assert set(seen) == set("0123456789X")
    for check, prefix in seen.items():
        total = sum(int(c) * w for c, w in zip(prefix, (3, 7, 9, 10, 5, 8, 4, 2)))
        assert (total + (10 if check == "X" else int(check))) % 11 == 0


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_codes_pass(code):
    assert check_uscc(code) == code


@pytest.mark.parametrize("code", VALID_USCCS)
def test_valid_codes_and_normalisation(code):
    assert check_uscc(code) == code
    assert check_uscc(code.lower()) == code
    assert check_uscc(f"  {code[:6]} {code[6:12]}\t{code[12:]} ") == code


@pytest.mark.parametrize("code", VALID_USCCS)
def test_every_single_character_corruption_of_a_uscc_is_rejected(code):
    rejected = 0
    for i, original in enumerate(code):
        for replacement in USCC_ALPHABET + "IOSVZ":
            if replacement == original:
                continue
            with pytest.raises(IdCheckError):
                check_uscc(code[:i] + replacement + code[i + 1:])
            rejected += 1
    assert rejected == 18 * 35


@pytest.mark.parametrize("code", VALID_USCCS)
def test_every_adjacent_transposition_of_a_uscc_is_rejected(code):
    for i in range(16):
        a, b = code[i], code[i + 1]
        if a != b:
            with pytest.raises(IdCheckError):
                check_uscc(code[:i] + b + a + code[i + 2:])


def test_wrong_final_check_character_message():
    code = REAL_USCCS[0]
    for wrong in USCC_ALPHABET:
        if wrong != code[-1]:
            with pytest.raises(IdCheckError, match=MSG_USCC_CHECK):
                check_uscc(code[:-1] + wrong)


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_forbidden_letters(letter):
    for i in range(18):
        code = REAL_USCCS[1]
        with pytest.raises(IdCheckError, match="I、O、S、V、Z"):
            check_uscc(code[:i] + letter + code[i + 1:])
        with pytest.raises(IdCheckError, match="I、O、S、V、Z"):
            check_uscc((code[:i] + letter + code[i + 1:]).lower())


@pytest.mark.parametrize("bad", ["-", "#", "中", "_"])
def test_other_characters(bad):
    code = REAL_USCCS[0]
    with pytest.raises(IdCheckError, match="只能由数字和大写字母组成"):
        check_uscc(code[:5] + bad + code[6:])


@pytest.mark.parametrize("value", ["91350100M000100Y4", "91350100M000100Y433", "91350100", "9" * 30])
def test_uscc_length(value):
    with pytest.raises(IdCheckError, match="^统一社会信用代码应为18位"):
        check_uscc(value)


@pytest.mark.parametrize("value", ["", "  ", None])
def test_empty_uscc(value):
    with pytest.raises(IdCheckError, match="请填写统一社会信用代码"):
        check_uscc(value)


def _well_formed(first2: str, region: str = "430682", body8: str = "MA4L0K2P") -> str:
    """A code with correct check characters whatever its first two characters and region."""
    return make_uscc(first2 + region + make_org_code(body8))


def test_every_defined_department_and_category_is_accepted():
    pairs = [d + c for d, cats in USCC_CATEGORIES.items() for c in cats]
    for pair in ("11", "12", "13", "19", "51", "52", "53", "54", "55", "59", "91", "92", "93",
                 "N1", "N2", "N3", "N9", "A1", "A9", "Y1", "G1", "J1", "Q1", "71", "72", "81"):
        assert pair in pairs
    for pair in pairs:
        code = _well_formed(pair)
        assert check_uscc(code) == code


@pytest.mark.parametrize("department", list("0BCDEFHKLMPRTUWX"))
def test_unknown_department(department):
    with pytest.raises(IdCheckError, match="第1位（登记管理部门代码）不正确"):
        check_uscc(_well_formed(department + "1"))


@pytest.mark.parametrize("pair", ["10", "14", "1A", "22", "30", "42", "56", "5N", "63", "73", "83",
                                  "90", "94", "99", "9A", "A2", "N4", "N0", "NA", "Y2", "Y9", "G2", "J2",
                                  "Q4"])
def test_unknown_category(pair):
    with pytest.raises(IdCheckError, match="第2位（机构类别代码）不正确"):
        check_uscc(_well_formed(pair))


@pytest.mark.parametrize("region", ["43068A", "A30682", "4306B2", "MA4L0K"])
def test_region_must_be_digits(region):
    with pytest.raises(IdCheckError, match="第3～8位"):
        check_uscc(_well_formed("91", region=region))


def test_national_region_code():
    code = _well_formed("51", region="100000")
    assert check_uscc(code) == code


def test_wrong_organisation_code_check_is_accepted_but_reported():
    """Some genuine early codes fail the embedded GB 11714 check: accept, let the reviewer see it."""
    from exchange.idcheck import uscc_org_code_ok
    body8 = "MA4L0K2P"
    right = make_org_code_check(body8)
    assert uscc_org_code_ok(make_uscc("N2430682" + body8 + right))
    for wrong in "0123456789X":
        if wrong == right:
            continue
        code = make_uscc("N2430682" + body8 + wrong)  # final check character computed correctly
        assert check_uscc(code) == code
        assert not uscc_org_code_ok(code)
    # a made-up code from a blog post: right shape, both check characters wrong
    with pytest.raises(IdCheckError):
        check_uscc("91310115MA1H8R7C6D")


def test_make_uscc_and_org_code_validate_their_input():
    with pytest.raises(IdCheckError):
        make_uscc("91350100M000100Y")        # 16 characters
    with pytest.raises(IdCheckError):
        make_uscc("91350100M000100I4")       # I is not in the alphabet
    with pytest.raises(IdCheckError):
        make_org_code("M000100")
    with pytest.raises(IdCheckError):
        make_org_code("M00010OY")            # letter O
    assert make_uscc("91350100m000100y4") == "91350100M000100Y43"


def test_uscc_is_rural_collective():
    assert uscc_is_rural_collective(RURAL_COLLECTIVE) is True
    assert uscc_is_rural_collective(RURAL_COLLECTIVE.lower()) is True
    for pair in ("N1", "N3", "N9"):
        assert uscc_is_rural_collective(_well_formed(pair)) is True
    for code in REAL_USCCS:
        assert uscc_is_rural_collective(code) is False
    assert uscc_is_rural_collective(_well_formed("93")) is False   # a 合作社 is not a collective
    assert uscc_is_rural_collective(_well_formed("54")) is False   # nor is a 村民委员会
    with pytest.raises(IdCheckError):
        uscc_is_rural_collective("N2430682MA4L0K2P5E")


# --- 手机号码 --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("13812345678", "13812345678"),
    ("19912345678", "19912345678"),
    ("16612345678", "16612345678"),
    (" 13812345678 ", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+86-138-1234-5678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("86 13812345678", "13812345678"),
    ("008613812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),
    ("＋８６ １３８１２３４５６７８", "13812345678"),
])
def test_valid_mobiles(value, expected):
    assert check_mobile(value) == expected


@pytest.mark.parametrize("value", [
    "1381234567",       # 10 digits
    "138123456789",     # 12 digits
    "12012345678",      # second digit 2
    "11012345678",
    "10012345678",
    "23812345678",
    "03812345678",
    "+861381234567",    # +86 and then 10 digits
    "+86123812345678",
    "+8612012345678",
    "861381234567",     # 86 + 10 digits: not stripped, 12 digits
    "+85213812345678",
    "1381234567a",
    "138.1234.5678",
    "一三八一二三四五六七八",
])
def test_invalid_mobiles(value):
    with pytest.raises(IdCheckError, match="^手机号码应为11位数字"):
        check_mobile(value)


@pytest.mark.parametrize("value", ["", "   ", None, "+86"])
def test_empty_mobile(value):
    with pytest.raises(IdCheckError, match="请填写手机号码"):
        check_mobile(value)


# --- masks ------------------------------------------------------------------------------------------

def test_mask_resident_id():
    assert mask_resident_id("43068219900101123X") == "430682********123X"
    assert mask_resident_id("43068219900101123x") == "430682********123X"
    assert mask_resident_id("430682199001011237") == "430682********1237"
    assert mask_resident_id(" 430682 19900101 1237 ") == "430682********1237"
    assert mask_resident_id("430682900101123") == "430682*****1123"   # an old 15-digit number
    assert mask_resident_id("4306821990") == "**********"
    assert mask_resident_id("") == ""
    assert mask_resident_id(None) == ""


def test_mask_mobile():
    assert mask_mobile("13812341234") == "138****1234"
    assert mask_mobile("+86 138 1234 1234") == "138****1234"
    assert mask_mobile("138-1234-1234") == "138****1234"
    assert mask_mobile("1234567") == "*******"
    assert mask_mobile("") == ""
    assert mask_mobile(None) == ""


def test_mask_name():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳修") == "欧**"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("阿依古丽·买买提") == "阿" + "*" * 7
    assert mask_name(" 李四 ") == "李*"
    assert mask_name("张") == "*"
    assert mask_name("") == ""
    assert mask_name(None) == ""


def test_mask_bank_account():
    assert mask_bank_account("6222021234567890") == "*" * 12 + "7890"
    assert mask_bank_account("6222 0212 3456 7890") == "*" * 12 + "7890"
    assert mask_bank_account("6217003810000123456") == "*" * 15 + "3456"
    assert mask_bank_account("7890") == "****"
    assert mask_bank_account("") == ""
    assert mask_bank_account(None) == ""


def test_masks_never_reveal_the_middle():
    number = make_resident_id("43068219900101123")
    assert "19900101" not in mask_resident_id(number)
    assert len(mask_resident_id(number)) == 18
    assert "1234" not in mask_mobile("13812345678")[:7]
