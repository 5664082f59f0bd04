"""What makes a right mortgageable and an application complete (DESIGN §3.13), on plain values — the service checks
them at the application and again before the registration, the pages list them.

* **The term**: the loan must end no later than the holder's right (for a 经营权 obtained by 流转, the lease's end;
  农村土地承包法 第四十七条: 担保物权 within the 经营权's term).  A right already ended, or ending before the loan
  starts, is refused too.
* **Free**: not held by another mortgage, not in a live listing (公告 … 鉴证), not suspended, not in an open dispute.
* **Papers**: who the holder is and the right's proof always; a 经营权 obtained by 流转 also the 承包方's written consent
  and the 备案 with the 发包方 (农村土地承包法 第四十七条); a collective's asset its members' decision; an appraisal
  report with the appraised value.
* **The key** of a right (:func:`right_key`): the category and the 权属证书编号 without blanks, dashes or case, so
  the same certificate typed twice names one right.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_NOISE = re.compile(r"[\s\-—－_·.。,，/\\（）()]+")


def right_key(category_code: str, right_cert_no: str) -> str:
    """``C01:430682XXXX``: the category and the certificate number, normalised (full width → half, no separators,
    upper case)."""
    text = unicodedata.normalize("NFKC", right_cert_no or "")
    return f"{category_code}:{_NOISE.sub('', text).upper()}"


@dataclass(frozen=True)
class Right:
    category_code: str
    right_cert_no: str
    right_end: date | None           # when the holder's right ends (a lease's end)
    obtained_by_lease: bool = False  # a 经营权 obtained by 流转 (needs the 承包方's consent and the 发包方 备案)
    collective: bool = False         # a collective's asset (needs its members' decision)


def term_problem(right: Right, loan_start: date, loan_end: date, today: date) -> str:
    """Why the loan's term does not fit the right ('' when it does)."""
    if loan_start >= loan_end:
        return "贷款到期日应晚于起始日。"
    if right.right_end is None:
        return "请填写该权利的到期日（流转合同或权属证书载明的终止日期）。"
    if right.right_end < today:
        return f"该权利已于 {right.right_end.isoformat()} 到期，不能抵押。"
    if loan_end > right.right_end:
        return (f"贷款到期日 {loan_end.isoformat()} 晚于该权利的到期日 {right.right_end.isoformat()}：抵押期限不能超过"
                "权利的剩余期限（《农村土地承包法》第四十七条）。")
    return ""


def required_materials(right: Right) -> list[str]:
    kinds = ["holder_id", "right_proof"]
    if right.obtained_by_lease:
        kinds += ["contractor_consent", "contractor_filing"]
    if right.collective:
        kinds.append("collective_decision")
    kinds.append("appraisal")
    return kinds


def amount_problem(amount: Decimal | None, appraisal_value: Decimal | None) -> str:
    if amount is None or amount <= 0:
        return "请填写申请贷款金额（大于 0）。"
    if appraisal_value is None or appraisal_value <= 0:
        return "请填写评估机构出具的评估价值。"
    if amount > appraisal_value:
        return f"申请贷款金额不能高于抵押物的评估价值 {appraisal_value:,.2f} 元。"
    return ""
