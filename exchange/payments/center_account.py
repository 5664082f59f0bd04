"""The 交易中心's receiving account (收款账户: 户名, 开户行, 账号): where payers transfer deposits and prices, with the
缴款码 in the memo (附言).  The center's admin sets it (audited); every page, notice and PDF that asks someone to pay
shows it next to the 缴款码 — or, while it is not set, says so plainly instead of leaving blanks.

The account belongs to the 交易中心 above the listing (the org tree is data: a province of many counties has one
center, and one account, per county).  When no listing is at hand (the admin page), the first center is meant."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from exchange import clock
from exchange.access import require
from exchange.audit.services import record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.inputs import has_control
from exchange.orgs.models import OrgKind, OrgUnit
from exchange.payments.models import CenterAccount

NOT_SET = "交易中心尚未公布收款账户"
ACCOUNT_NO = re.compile(r"[0-9]{8,30}")


class CenterAccountError(ServiceError):
    """The account as entered cannot be used."""


def center_of(org: OrgUnit | None) -> OrgUnit | None:
    """The 交易中心 an org unit belongs to (itself for a center); without one, the first center of the tree."""
    if org is not None:
        ids = [int(p) for p in (org.path or "").strip("/").split("/") if p.isdigit()] or [org.id]
        centers = db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids), OrgUnit.kind == OrgKind.CENTER.value)
                                     ).all()
        if centers:  # the nearest center above the unit
            return max(centers, key=lambda u: len(u.path or ""))
    return db.session.scalar(select(OrgUnit).where(OrgUnit.kind == OrgKind.CENTER.value, OrgUnit.parent_id.is_(None))
                             .order_by(OrgUnit.sort_order, OrgUnit.id).limit(1))


def receiving_account(org: OrgUnit | None = None) -> CenterAccount | None:
    """The receiving account of the center above ``org`` (a listing's org unit), or None while it is not set."""
    center = center_of(org)
    if center is None:
        return None
    return db.session.scalar(select(CenterAccount).where(CenterAccount.org_unit_id == center.id))


def pay_to_text(payment_ref: str | None, org: OrgUnit | None = None) -> str:
    """One sentence for a notice: where to transfer, and the 缴款码 to write in the memo."""
    acct = receiving_account(org)
    ref = f"附言必须填写缴款码 {payment_ref}" if payment_ref else "附言必须填写缴款码"
    if acct is None:
        center = center_of(org)
        phone = f"（电话 {center.phone}）" if center is not None and center.phone else ""
        return (f"{NOT_SET}，请在平台上网上支付，或先向交易中心问清收款账户{phone}再转账，{ref}。")
    return (f"银行转账请汇入交易中心收款账户：户名 {acct.account_name}，开户行 {acct.bank_name}，"
            f"账号 {acct.account_no_display}，{ref}。")


def _text(raw, field: str, label: str, limit: int) -> str:
    value = unicodedata.normalize("NFKC", str(raw or "")).strip()
    value = re.sub(r"\s+", " ", value)
    if not value:
        raise CenterAccountError(f"请填写{label}。", field)
    if has_control(value):
        raise CenterAccountError(f"“{label}”含有不可见的控制字符，请删除后重新提交。", field)
    if len(value) > limit:
        raise CenterAccountError(f"{label}最多 {limit} 个字，现在是 {len(value)} 个字。", field)
    return value


def parse_account_no(raw) -> str:
    """The account number without blanks or dashes (full-width digits accepted); 8 to 30 digits."""
    value = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", str(raw or "")))
    if not value:
        raise CenterAccountError("请填写账号。", "account_no")
    if not ACCOUNT_NO.fullmatch(value):
        raise CenterAccountError("账号应为 8 至 30 位数字（可以带空格分组，不能有字母或其他符号）。", "account_no")
    return value


def set_receiving_account(actor, *, account_name, bank_name, account_no, org: OrgUnit | None = None) -> CenterAccount:
    """Set or change the center's receiving account (the admin; audited with before and after)."""
    require(actor, "orgs.manage")
    center = center_of(org if org is not None else getattr(actor, "org_unit", None))
    if center is None:
        raise CenterAccountError("还没有交易中心机构，请先在“组织机构”中建立交易中心。")
    name = _text(account_name, "account_name", "户名", 100)
    bank = _text(bank_name, "bank_name", "开户行", 100)
    number = parse_account_no(account_no)
    acct = db.session.scalar(select(CenterAccount).where(CenterAccount.org_unit_id == center.id))
    before = None
    if acct is None:
        acct = CenterAccount(org_unit_id=center.id, account_name=name, bank_name=bank, account_no=number)
        db.session.add(acct)
    else:
        before = {"account_name": acct.account_name, "bank_name": acct.bank_name, "account_no": acct.account_no}
        if before == {"account_name": name, "bank_name": bank, "account_no": number}:
            return acct
        acct.account_name, acct.bank_name, acct.account_no = name, bank, number
    acct.updated_by_id, acct.updated_at = actor.id, clock.now()
    db.session.flush()
    record("payments.center_account", f"设置{center.name}收款账户：{name}，{bank}，{number}",
           obj_type="center_account", obj_id=acct.id, before=before,
           after={"account_name": name, "bank_name": bank, "account_no": number})
    return acct
