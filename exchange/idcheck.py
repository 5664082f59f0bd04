"""Identity numbers: validation, normalisation, masking and (for tests and demo data) generation.

居民身份证号 — GB 11643-1999《公民身份号码》
    18 characters: a 6-digit address code (the first two digits are the 省级 code of GB/T 2260),
    an 8-digit birth date YYYYMMDD, a 3-digit sequence number (odd for men, even for women) and a
    check character computed by ISO 7064 MOD 11-2: the weights of positions 1-17 are 2^(18-i)
    mod 11 = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, and the check value is (12 - sum mod 11) mod 11,
    written X when it is 10.  The same format is used by the residence permits for Hong Kong, Macao
    (address codes 81xxxx, 82xxxx) and Taiwan residents (83xxxx), which are accepted here.  The
    foreigners' permanent residence card (which begins with 9) is a different document and is
    not.

统一社会信用代码 — GB 32100-2015《法人和其他组织统一社会信用代码编码规则》(with amendment No. 1,
    GB 32100-2015/XG1-2016)
    18 characters from the 31-character alphabet 0-9 A-H J-N P-R T-U W-Y (I, O, S, V, Z are never
    used, being easily confused with 1, 0, 5, 2):

    * position 1: 登记管理部门代码 (1 机构编制, 5 民政, 9 工商/市场监管, N 农业农村, Y 其他, ...);
    * position 2: 机构类别代码, defined per department (see :data:`USCC_CATEGORIES`);
    * positions 3-8: 登记管理机关行政区划码, six digits (GB/T 2260, or 100000 for national bodies);
    * positions 9-17: 主体标识码, the GB 11714-1997 organisation code, whose 9th character is its
      own check character: values 0-9 for digits and A=10 … Z=35 for letters, weights
      3 7 9 10 5 8 4 2, check = 11 - (sum mod 11), written X for 10 and 0 for 11;
    * position 18: the check character over positions 1-17 (GB/T 17710, ISO 7064 MOD 31-3): each
      character's index in the alphabet times the weights 3^(i-1) mod 31 = 1 3 9 27 19 26 16 17
      20 29 25 13 8 24 10 30 28, check = 31 - (sum mod 31), where 31 means 0.

    农村集体经济组织 (the sellers of collectively owned rights on this exchange) are registered by
    the agriculture and rural affairs departments; their codes begin with N (N1 组级, N2 村级,
    N3 乡镇级, N9 其他).

Mobile numbers
    Mainland mobile numbers are 11 digits: 1, then 3-9, then nine more digits.

Every ``check_*`` function returns the normalised value (blanks removed, full-width characters
converted, letters upper-cased) or raises :class:`IdCheckError` — a :class:`ValueError` whose
message is plain Chinese a village clerk can act on.  The ``mask_*`` functions never raise: they
hide personal data for display, whatever they are given.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

__all__ = [
    "IdCheckError",
    "PROVINCE_CODES",
    "USCC_ALPHABET",
    "USCC_CATEGORIES",
    "USCC_DEPARTMENTS",
    "check_mobile",
    "check_resident_id",
    "check_uscc",
    "make_org_code",
    "make_org_code_check",
    "make_resident_id",
    "make_uscc",
    "mask_bank_account",
    "mask_mobile",
    "mask_name",
    "mask_resident_id",
    "resident_id_birthdate",
    "resident_id_check_char",
    "resident_id_gender",
    "uscc_check_char",
    "uscc_is_rural_collective",
]


class IdCheckError(ValueError):
    """An identity number is malformed; ``str(exc)`` is a message for the user, in Chinese."""


def _normalise(value: str | None) -> str:
    """NFKC (full-width → ASCII), drop all blanks, upper-case.  ``None`` counts as empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"应为字符串，不能是 {type(value).__name__}")
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


# --- 居民身份证号 (GB 11643-1999) -------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # check character indexed by (weighted sum mod 11)
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS17 = re.compile(r"[0-9]{17}")
_EARLIEST_BIRTH = date(1800, 1, 1)

#: 省级行政区划代码 (GB/T 2260): the first two digits of an address code.  71 is 台湾省 in GB/T 2260;
#: 81 香港 and 82 澳门 are also the address codes of the residence permits for Hong Kong and Macao
#: residents, and 83 that of the residence permit for Taiwan residents.
PROVINCE_CODES: dict[str, str] = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
    "71": "台湾", "81": "香港", "82": "澳门", "83": "台湾（居住证）",
}

_MSG_ID_EMPTY = "请填写身份证号"
_MSG_ID_SHAPE = "身份证号应为18位：前17位是数字，最后一位是数字或字母X"
_MSG_ID_PROVINCE = "身份证号前两位（省份代码）不正确，请核对后重新输入"
_MSG_ID_DATE = "身份证号中的出生日期不正确（第7～14位应为出生年月日），请核对后重新输入"
_MSG_ID_FUTURE = "身份证号中的出生日期不正确：出生日期晚于今天，请核对后重新输入"
_MSG_ID_CHECK = "身份证号校验位不正确，请核对后重新输入"


def resident_id_check_char(first17: str) -> str:
    """The MOD 11-2 check character (0-9 or X) for the first 17 digits of a 身份证号."""
    if not _DIGITS17.fullmatch(first17):
        raise IdCheckError("身份证号前17位应为数字")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def make_resident_id(prefix17: str) -> str:
    """``prefix17`` + its check character: a well-formed (fictitious) number for tests and demos.

    Only the 17 digits are required; the address code and birth date are not checked, so tests
    can build numbers whose sole defect is the date or the province.
    """
    return prefix17 + resident_id_check_char(prefix17)


def _birth_date(s: str) -> date | None:
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return None
    return born if born >= _EARLIEST_BIRTH else None


def check_resident_id(value: str | None, today: date | None = None) -> str:
    """Validate an 18-character 居民身份证号 and return it normalised (blanks removed, ``x`` → ``X``).

    Checked in this order, each with its own message: length and characters, province code,
    birth date (a real calendar date from 1800 on, and — when ``today`` is given — not after
    ``today``; the app passes ``exchange.clock.today_local()``), check character.
    """
    s = _normalise(value)
    if not s:
        raise IdCheckError(_MSG_ID_EMPTY)
    if not _ID_SHAPE.fullmatch(s):
        hint = f"（现在是{len(s)}位）" if len(s) != 18 else ""
        raise IdCheckError(_MSG_ID_SHAPE + hint)
    if s[:2] not in PROVINCE_CODES:
        raise IdCheckError(_MSG_ID_PROVINCE)
    born = _birth_date(s)
    if born is None:
        raise IdCheckError(_MSG_ID_DATE)
    if today is not None:
        if isinstance(today, datetime):
            today = today.date()
        if born > today:
            raise IdCheckError(_MSG_ID_FUTURE)
    if resident_id_check_char(s[:17]) != s[17]:
        raise IdCheckError(_MSG_ID_CHECK)
    return s


def resident_id_birthdate(value: str) -> date:
    """The birth date encoded in a valid 身份证号 (raises :class:`IdCheckError` if it is invalid)."""
    s = check_resident_id(value)
    return date(int(s[6:10]), int(s[10:12]), int(s[12:14]))


def resident_id_gender(value: str) -> str:
    """"男" or "女" from the 17th digit (odd = male) of a valid 身份证号."""
    s = check_resident_id(value)
    return "男" if int(s[16]) % 2 else "女"


# --- 统一社会信用代码 (GB 32100-2015) ----------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 … 10 30 28
_USCC_FORBIDDEN = "IOSVZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

#: 登记管理部门代码 → name.  1-9, A, N and Y are defined by GB 32100-2015 and its amendment No. 1;
#: G, J and Q were assigned later by the national code centre (全国组织机构统一社会信用代码数据服务中心).
USCC_DEPARTMENTS: dict[str, str] = {
    "1": "机构编制", "2": "外交", "3": "司法行政", "4": "文化", "5": "民政", "6": "旅游",
    "7": "宗教", "8": "工会", "9": "工商（市场监管）", "A": "中央军委改革和编制办公室",
    "G": "公安", "J": "住房和城乡建设", "N": "农业农村", "Q": "侨联", "Y": "其他",
}

#: 登记管理部门代码 → {机构类别代码: name}.
USCC_CATEGORIES: dict[str, dict[str, str]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "2": {"1": "外国常驻新闻机构", "9": "其他"},
    "3": {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
          "5": "仲裁委员会", "6": "商事调解组织", "9": "其他"},
    "4": {"1": "外国在华文化中心", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位（社会服务机构）", "3": "基金会",
          "4": "村民委员会", "5": "居民委员会", "9": "其他"},
    "6": {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
    "8": {"1": "基层工会", "2": "非法人工会组织", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "A": {"1": "军队事业单位", "9": "其他"},
    "G": {"1": "境外非政府组织代表机构", "9": "其他"},
    "J": {"1": "业主大会", "9": "其他"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    "Q": {"1": "区县级侨联组织", "2": "乡镇级侨联组织", "3": "村级侨联组织", "9": "其他"},
    "Y": {"1": "其他"},
}

_MSG_USCC_EMPTY = "请填写统一社会信用代码"
_MSG_USCC_LENGTH = "统一社会信用代码应为18位"
_MSG_USCC_FORBIDDEN = ("统一社会信用代码中不使用字母 I、O、S、V、Z，请核对是否把数字 1、0、5、2 "
                       "误输成了字母")
_MSG_USCC_CHARS = "统一社会信用代码只能由数字和大写字母组成"
_MSG_USCC_DEPARTMENT = "统一社会信用代码第1位（登记管理部门代码）不正确，请核对后重新输入"
_MSG_USCC_CATEGORY = "统一社会信用代码第2位（机构类别代码）不正确，请核对后重新输入"
_MSG_USCC_REGION = "统一社会信用代码第3～8位（登记机关行政区划代码）应为数字，请核对后重新输入"
_MSG_USCC_CHECK = "统一社会信用代码校验位不正确，请核对后重新输入"


def _require_uscc_chars(s: str, what: str) -> None:
    if any(c not in _USCC_VALUE for c in s):
        raise IdCheckError(f"{what}只能包含数字和字母（不含 I、O、S、V、Z）")


def uscc_check_char(first17: str) -> str:
    """The final (18th) check character for the first 17 characters of a USCC."""
    if len(first17) != 17:
        raise IdCheckError("统一社会信用代码的前17位应为17个字符")
    _require_uscc_chars(first17, "统一社会信用代码")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_org_code_check(first8: str) -> str:
    """The GB 11714 check character (0-9 or X) of an organisation code's first 8 characters."""
    if len(first8) != 8 or not re.fullmatch(r"[0-9A-Z]{8}", first8):
        raise IdCheckError("组织机构代码的前8位应为8个数字或大写字母")
    total = sum((int(c) if c.isdigit() else ord(c) - ord("A") + 10) * w
                for c, w in zip(first8, _ORG_WEIGHTS))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_org_code(prefix8: str) -> str:
    """``prefix8`` + its GB 11714 check character: a 9-character 主体标识码 for tests and demos."""
    _require_uscc_chars(prefix8, "主体标识码")
    return prefix8 + make_org_code_check(prefix8)


def make_uscc(prefix17: str) -> str:
    """``prefix17`` + its final check character (for tests and demo data).

    Nothing but the alphabet is checked, so tests can build codes whose only defect is elsewhere
    (an unknown department, a bad organisation-code check).  For a fully valid code give positions
    9-17 from :func:`make_org_code`.
    """
    prefix17 = prefix17.upper()
    return prefix17 + uscc_check_char(prefix17)


def check_uscc(value: str | None) -> str:
    """Validate an 18-character 统一社会信用代码 and return it normalised (upper case, no blanks).

    Checked in this order: length; alphabet (with a dedicated message for I/O/S/V/Z); 登记管理部门
    代码; 机构类别代码; six-digit 行政区划码; final check character.  The embedded GB 11714
    organisation-code check is *not* a reason to refuse: some genuine codes issued in the first years
    fail it, and refusing a real organisation is worse than the typo it would catch (the final check
    character already catches those).  :func:`uscc_org_code_ok` reports it for the reviewer.
    """
    s = _normalise(value)
    if not s:
        raise IdCheckError(_MSG_USCC_EMPTY)
    if len(s) != 18:
        raise IdCheckError(f"{_MSG_USCC_LENGTH}（现在是{len(s)}位）")
    if any(c in _USCC_FORBIDDEN for c in s):
        raise IdCheckError(_MSG_USCC_FORBIDDEN)
    if any(c not in _USCC_VALUE for c in s):
        raise IdCheckError(_MSG_USCC_CHARS)
    categories = USCC_CATEGORIES.get(s[0])
    if categories is None:
        raise IdCheckError(_MSG_USCC_DEPARTMENT)
    if s[1] not in categories:
        raise IdCheckError(_MSG_USCC_CATEGORY)
    if not s[2:8].isdigit():
        raise IdCheckError(_MSG_USCC_REGION)
    if uscc_check_char(s[:17]) != s[17]:
        raise IdCheckError(_MSG_USCC_CHECK)
    return s


def uscc_org_code_ok(code: str) -> bool:
    """Whether positions 9-17 carry a valid GB 11714 check character (a hint for reviewers)."""
    s = check_uscc(code)
    return make_org_code_check(s[8:16]) == s[16]


def uscc_is_rural_collective(code: str | None) -> bool:
    """True for a valid USCC of a 农村集体经济组织 (登记管理部门代码 N).

    The code is validated first, so an invalid code raises :class:`IdCheckError` instead of
    quietly answering False.
    """
    return check_uscc(code)[0] == "N"


# --- 手机号码 -----------------------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MSG_MOBILE = "手机号码应为11位数字（以13～19开头），请核对后重新输入"


def _mobile_digits(value: str | None) -> str:
    s = _normalise(value).replace("-", "")
    for prefix in ("+86", "0086"):
        if s.startswith(prefix):
            return s[len(prefix):]
    if s.startswith("86") and len(s) == 13:
        return s[2:]
    return s


def check_mobile(value: str | None) -> str:
    """Validate a mainland mobile number and return its 11 digits.

    Blanks and hyphens are ignored, full-width digits converted, and a leading +86, 0086 or 86
    (when 13 digits remain) removed.
    """
    s = _mobile_digits(value)
    if not s:
        raise IdCheckError("请填写手机号码")
    if not _MOBILE.fullmatch(s):
        raise IdCheckError(_MSG_MOBILE)
    return s


# --- masks --------------------------------------------------------------------------------------------
# For display (lists, public announcements, API responses).  They never raise and never reveal
# more than they should: input of an unexpected length is masked conservatively.

def _keep_ends(s: str, head: int, tail: int) -> str:
    if len(s) <= head + tail:
        return "*" * len(s)
    return s[:head] + "*" * (len(s) - head - tail) + s[len(s) - tail:]


def _safe(value: object) -> str:
    if value is None:
        return ""
    return "".join(unicodedata.normalize("NFKC", str(value)).split())


def mask_resident_id(value: str | None) -> str:
    """``"430682199001011234"`` → ``"430682********1234"`` (first 6 and last 4 kept)."""
    return _keep_ends(_safe(value).upper(), 6, 4)


def mask_mobile(value: str | None) -> str:
    """``"13812341234"`` → ``"138****1234"`` (any +86 prefix removed first)."""
    return _keep_ends(_mobile_digits(_safe(value)), 3, 4)


def mask_name(value: str | None) -> str:
    """``"张三"`` → ``"张*"``, ``"欧阳修"`` → ``"欧**"``: the first character, then one * per character."""
    s = "" if value is None else str(value).strip()
    if len(s) <= 1:
        return "*" * len(s)
    return s[0] + "*" * (len(s) - 1)


def mask_bank_account(value: str | None) -> str:
    """``"6222 0212 3456 7890"`` → ``"************7890"`` (blanks removed, last 4 kept)."""
    return _keep_ends(_safe(value), 0, 4)
