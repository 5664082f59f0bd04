"""Where the proceeds may go (第二十一条, DESIGN §3.11), checked when the listing is submitted and again before every
payout (the settlement's 划付, the compensation from a forfeited deposit).

* (一) a household's proceeds belong to the household: only to an account in the name of the listing's applicant
  (the 承包方代表, i.e. the transferor) — or of the attorney named in its power of attorney (委托办理) — checked by
  name *and* ID number;
* (二) a collective economic organisation's proceeds (a collective transferor, or a collective category: C04 集体
  资源性资产, C05 集体经营性资产, C08 集体的招标采购招商) go into the collective's property: only to the
  村（组）集体经济组织's 法人账户 — its registered name and its 统一社会信用代码 (registered by the agricultural
  department: the code starts with N), which are the transferor's.

The account holder's ID number (``account_holder_id_no``) is what the bank account is opened under; left blank it is
the transferor's own when the account is in the transferor's name.
"""
from __future__ import annotations

from exchange.idcheck import IdCheckError, check_uscc

COLLECTIVE_CATEGORIES = frozenset({"C04", "C05", "C08"})


def collective_proceeds(listing) -> bool:
    """第二十一条(二): the proceeds belong to a collective economic organisation."""
    code = listing.category.code if getattr(listing, "category", None) is not None else ""
    return listing.transferor_kind == "collective" or code in COLLECTIVE_CATEGORIES


def _norm(value) -> str:
    return "".join((value or "").split()).upper()


def holder_id_no(listing) -> str:
    """The account holder's ID number as declared, or the transferor's when the account is in its own name."""
    given = _norm(getattr(listing, "account_holder_id_no", ""))
    if given:
        return given
    if (listing.account_name or "").strip() == (listing.transferor_name or "").strip():
        return _norm(listing.transferor_id_no)
    return ""


def payee_problem(listing) -> str:
    """Why the listing's registered account may not receive its proceeds ("" when it may)."""
    name, number = (listing.account_name or "").strip(), (listing.account_no or "").strip()
    if not name or not number:
        return "请填写收款账户（户名和账号）：成交价款将划入该账户（第二十一条）。"
    holder = holder_id_no(listing)
    if collective_proceeds(listing):
        if listing.transferor_kind != "collective":
            return ("集体资产的交易收益应转入村（组）集体经济组织法人账户（第二十一条）：转让方类型应为"
                    "“村（组）集体经济组织”。")
        if not holder:
            return "请填写收款账户的统一社会信用代码：集体资产的收益只能转入村（组）集体经济组织法人账户（第二十一条）。"
        try:
            holder = check_uscc(holder)
        except IdCheckError as exc:
            return f"收款账户的统一社会信用代码：{exc}"
        if not holder.startswith("N"):
            return ("集体资产的收益只能转入村（组）集体经济组织法人账户（第二十一条）：其统一社会信用代码以 N 开头"
                    "（农业农村部门登记），请核对收款账户。")
        if name != (listing.transferor_name or "").strip() or holder != _norm(listing.transferor_id_no):
            return ("集体资产的收益只能转入转让方本集体经济组织的法人账户（第二十一条）：收款户名和统一社会信用代码"
                    "须与转让方一致。")
        return ""
    owners = [((listing.transferor_name or "").strip(), _norm(listing.transferor_id_no))]
    if listing.entrusted:
        owners.append(((listing.agent_name or "").strip(), _norm(listing.agent_id_no)))
    if (name, holder) not in owners:
        who = "挂牌申请方（转让方）本人" + ("或授权委托书载明的受托人" if listing.entrusted else "")
        return (f"交易收益只能转入{who}名下的账户（第二十一条）：收款户名和开户证件号须与之一致，"
                "请核对收款账户。")
    return ""
