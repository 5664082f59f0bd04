"""成交签约 (第十六条; DESIGN §3.7, §3.11): the standard contract of the listing's category family, filled from the
listing and the deal, signed by both parties within 5 工作日 of the moment 组织交易 is complete (交易公示 ended with
no objection pending or upheld), and **in force from the last party's signature** (经转让方和受让方签字、盖章后生效).

* :func:`open_contract` runs when the deal's 交易公示 ends (the listing goes to ``contract``); idempotent; its
  ``due_at`` is the deal's ``contract_due_at``, stored when the publicity ended (trading.services).
* The center (``contracts.manage``) may edit the free clauses while the contract is a draft that neither
  party has signed; afterwards the text is frozen (its SHA-256 is kept in ``text_sha256``).
* Each party signs once: the buyer (the deal's winner) online, re-entering its password; the transferor online
  the same way when it applied with its own account, or — a household or collective without an account here,
  which signs on paper — its village point's clerk (or the town station for a direct application) records the
  paper signature with the scan of the page it signed (``seller_confirmed_as``, ``seller_signature_*``).  The second signature makes the
  contract effective: numbered 临农交合〔年〕第NNNNNN号 (gap-free), ``effective_at`` = that moment, the listing
  goes to ``settlement`` and the 10 days of 第十七条 start.
* A signature after ``due_at`` is accepted while no default has been declared (the listing still in 签约) and is
  marked late (:func:`signed_late`); once the center declared a default the contract is void.
* The signed and sealed scan is uploaded by a party or the center and checked by the center as part of 鉴证
  (第十八条): returned with a note for a new scan, or checked; the effective time stays the signatures'.
"""
from __future__ import annotations

import hashlib
import html as _html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from blinker import Namespace
from flask import render_template
from sqlalchemy import select
from werkzeug.security import check_password_hash

from exchange import clock
from exchange.access import AccessDenied, can, in_scope, require
from exchange.accounts.models import Role
from exchange.audit.services import record
from exchange.contracts.models import Contract
from exchange.contracts.states import CONTRACT, ContractState
from exchange.contracts.templates_data import (DEFAULTS, FAMILIES, FREE_CLAUSES, FREE_KEYS, MAX_CLAUSE,
                                               PROCUREMENT_FAMILIES, family_for, roles_for)
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.listings.workflow import fire, log_event
from exchange.trading.models import Deal
from exchange.trading.services import publicity_ended
from exchange.workdays.services import due_after_working_days

ON_BEHALF = "交易点代为确认（转让方已书面签字）"
ON_BEHALF_STATION = "交易站代为确认（转让方已书面签字）"
SELF = "转让方本人在线确认"
UNSIGNED_STATES = tuple(sorted(ContractState.UNSIGNED))


SIGNING_WORKING_DAYS = 5  # 第十六条


class ContractError(ServiceError):
    """A contract step that cannot be taken now."""


# --- opening --------------------------------------------------------------------------------------

def contract_for_deal(deal: Deal) -> Contract | None:
    return db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))


# The contract took effect (sent inside the transaction); exchange.settlement connects to it and opens the
# settlement — contracts does not know the stages after it (DESIGN §4.1).
contract_effective = Namespace().signal("contract-effective")


@publicity_ended.connect
def _on_publicity_ended(deal: Deal) -> None:
    if deal.method == "procurement":
        return  # the collective confirms the winner first (exchange.procurement.award opens the contract then)
    open_contract(deal)


def open_contract(deal: Deal) -> Contract:
    """The deal's contract, created as a draft from its category family's template (idempotent)."""
    existing = contract_for_deal(deal)
    if existing is not None:
        return existing
    listing = deal.listing
    if deal.contract_due_at is None:  # (the end of the publicity stores it; a deal from before that reading)
        from exchange.trading.services import trade_complete_at
        deal.contract_due_at = due_after_working_days(trade_complete_at(deal), SIGNING_WORKING_DAYS).at
    due = deal.contract_due_at
    contract = Contract(deal_id=deal.id, listing_id=listing.id, template=family_for(listing.category.code),
                        clauses="{}", due_at=due)
    db.session.add(contract)
    db.session.flush()
    record("contract.open", f"生成合同草稿：{listing.project_no} {listing.title}", obj_type="contract",
           obj_id=contract.id, after={"template": contract.template, "due_at": due.isoformat()})
    return contract


def unopened_deal_ids(now: datetime | None = None) -> list[int]:
    """Deals in 签约 (交易公示 over, the listing in ``contract``) without their contract: the draft the end of the
    publicity should have opened (:func:`_on_publicity_ended`) is missing.  A plain read; the deadline sweeper
    opens them (:func:`open_late`) — a page only says so."""
    return list(db.session.scalars(
        select(Deal.id).join(Listing, Listing.id == Deal.listing_id).outerjoin(Contract, Contract.deal_id == Deal.id)
        .where(Deal.state == "confirmed", Listing.state == "contract", Contract.id.is_(None),
               Deal.method != "procurement")  # opened by the award (exchange.procurement), not by the publicity
        .order_by(Deal.id)))


def open_late(deal_id: int, now: datetime | None = None) -> bool:
    """Open one missing contract (the sweeper's item): the deal locked and checked again; False when it is no
    longer in 签约 or its contract exists by now."""
    from exchange.db import lock_row
    deal = lock_row(db.session, Deal, deal_id)
    if deal is None or deal.state != "confirmed" or deal.listing.state != "contract" or contract_for_deal(deal):
        return False
    open_contract(deal)
    return True


# --- who is who -----------------------------------------------------------------------------------

def is_buyer(user, contract: Contract) -> bool:
    return _public_active(user) and user.id == contract.deal.buyer_id


def _public_active(user) -> bool:
    return (user is not None and getattr(user, "is_authenticated", False) and user.role == Role.PUBLIC
            and user.is_active)


def seller_capacity(user, contract: Contract) -> str | None:
    """How ``user`` may confirm for the transferor: SELF, ON_BEHALF(_STATION), or None."""
    return _seller_capacity(user, contract.listing)


def _seller_capacity(user, listing: Listing) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if listing.transferor_user_id is not None:
        return SELF if user.role == Role.PUBLIC and user.id == listing.transferor_user_id else None
    if user.role == Role.POINT_CLERK and listing.point is not None and in_scope(user, listing.point):
        return ON_BEHALF
    if user.role == Role.STATION_REVIEWER and listing.point is None and in_scope(user, listing.station):
        return ON_BEHALF_STATION
    return None


def party_side(user, contract: Contract) -> str | None:
    if is_buyer(user, contract):
        return "buyer"
    if seller_capacity(user, contract):
        return "seller"
    return None


def may_view(user, contract: Contract) -> bool:
    return may_view_deal(user, contract.deal)


def may_view_deal(user, deal: Deal) -> bool:
    """The parties (the buyer; the transferor, or the clerk who confirms for it) and the staff who see the listing
    see the deal's contract — asked before it is looked up, whether it exists yet or not."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if (_public_active(user) and user.id == deal.buyer_id) or _seller_capacity(user, deal.listing):
        return True
    return user.role != Role.PUBLIC and can(user, "listings.view", deal.listing.org)


VIEW_REFUSED = "合同仅限交易双方、代为确认的交易点和交易中心工作人员查看。"


def require_view(user, contract: Contract) -> None:
    require_view_deal(user, contract.deal)


def require_view_deal(user, deal: Deal) -> None:
    if not may_view_deal(user, deal):
        raise AccessDenied(VIEW_REFUSED)


def may_manage(user, contract: Contract) -> bool:
    return can(user, "contracts.manage", contract.listing.org)


def authorise_manage(user, contract: Contract) -> None:
    """The center's contract staff: the free clauses, the check of the signed scan."""
    require(user, "contracts.manage", contract.listing.org)


def authorise_confirm(user, contract: Contract) -> None:
    """Only a party (or the village clerk confirming for a household transferor) confirms the text."""
    if party_side(user, contract) is None:
        raise AccessDenied("您不是本合同的当事人，不能确认合同。")


def authorise_upload(user, contract: Contract) -> None:
    if not may_upload(user, contract):
        raise AccessDenied("只有合同双方或交易中心可以上传签章合同扫描件。")


# --- the text -------------------------------------------------------------------------------------

def clauses_of(contract: Contract) -> dict[str, str]:
    """The free clauses: stored values over the family's defaults, in the fixed order."""
    try:
        stored = json.loads(contract.clauses or "{}")
    except ValueError:
        stored = {}
    defaults = DEFAULTS.get(contract.template, DEFAULTS["other"])
    return {k: (stored.get(k) if isinstance(stored.get(k), str) else defaults[k]) for k in FREE_KEYS}


def transferee_name(contract: Contract) -> str:
    from exchange.trading.documents import full_name
    return full_name(contract.deal.registration.buyer)


@dataclass(frozen=True)
class Facts:
    """Everything the text says, computed once for the PDF, the page and the API."""
    family: str
    title: str
    seller_role: str
    buyer_role: str
    price_word: str
    seller_name: str
    seller_id_no: str
    seller_address: str
    seller_mobile: str
    buyer_name: str
    buyer_id_no: str
    buyer_mobile: str
    price: Decimal
    deposit: Decimal
    balance: Decimal
    location: str
    years: int | None


def _buyer_id_no(user) -> str:
    party = getattr(user, "party", None)
    if party is None:
        return ""
    return party.id_number or party.uscc or ""


def facts(contract: Contract) -> Facts:
    deal, listing = contract.deal, contract.listing
    seller_role, buyer_role, price_word = roles_for(listing.method.name if listing.method else None)
    buyer = deal.registration.buyer
    deposit = deal.registration.deposit_amount or Decimal("0")
    deposit = min(deposit, deal.price)
    place = listing.station.area_name + (listing.point.area_name if listing.point else "")
    location = listing.place  # 坐落: the town and the village once each (one composition for every document)
    years = None  # whole years only (2027-01-01 … 2036-12-31 is 10 years); otherwise the dates speak alone
    if listing.term_start and listing.term_end and listing.term_end > listing.term_start:
        end = listing.term_end + timedelta(days=1)
        months = (end.year - listing.term_start.year) * 12 + end.month - listing.term_start.month
        if end.day == listing.term_start.day and months % 12 == 0:
            years = months // 12
    return Facts(family=contract.template, title=FAMILIES.get(contract.template, FAMILIES["other"]),
                 seller_role=seller_role, buyer_role=buyer_role, price_word=price_word,
                 seller_name=listing.transferor_name, seller_id_no=listing.transferor_id_no,
                 seller_address=place, seller_mobile=listing.transferor_mobile,
                 buyer_name=transferee_name(contract), buyer_id_no=_buyer_id_no(buyer),
                 buyer_mobile=getattr(buyer, "mobile", "") or "", price=deal.price, deposit=deposit,
                 balance=deal.price - deposit, location=location, years=years)


def _center_name(contract: Contract) -> str:
    from exchange.trading.documents import center_name
    return center_name(contract.deal)


def render_text(contract: Contract) -> str:
    """The contract's own text as HTML (what both parties confirm; no number, dates or signatures): once a party
    has signed, the text it signed (``text_html``, frozen then); before, drawn from the standard template."""
    if contract.text_html:
        return contract.text_html
    template = f"contracts/text_{contract.template}.html"
    if contract.template in PROCUREMENT_FAMILIES:
        template = "contracts/text_procurement.html"
    elif contract.template not in FAMILIES:
        template = "contracts/text_other.html"
    return render_template(template, c=contract, f=facts(contract), deal=contract.deal, listing=contract.listing,
                           clauses=clauses_of(contract), free=FREE_CLAUSES, center=_center_name(contract))


_TAG = re.compile(r"<[^>]+>")
_STYLE = re.compile(r"<style.*?</style>", re.S)


def plain_text(html_text: str) -> str:
    text = _html.unescape(_TAG.sub(" ", _STYLE.sub(" ", html_text)))
    return " ".join(text.split())


def digest_of(body: str) -> str:
    """The SHA-256 of a contract text (HTML) as both parties confirm it: of its plain words, not its markup."""
    return hashlib.sha256(plain_text(body).encode("utf-8")).hexdigest()


def text_digest(contract: Contract) -> str:
    return digest_of(render_text(contract))


def contract_pdf(contract: Contract) -> bytes:
    from exchange.pdf import render_pdf
    body = render_text(contract)
    digest = digest_of(body)
    return render_pdf("contracts/pdf.html", c=contract, f=facts(contract), body=body, digest=digest,
                      listing=contract.listing, deal=contract.deal, center=_center_name(contract),
                      printed_at=clock.now())


# --- the center edits the free clauses ---------------------------------------------------------------

def edit_clauses(actor, contract: Contract, values: dict) -> Contract:
    authorise_manage(actor, contract)
    if contract.state != "draft":
        raise ContractError(f"合同{contract.state_label}，条款不能再修改。")
    if contract.buyer_confirmed_at or contract.seller_confirmed_at:
        raise ContractError("已有一方确认了合同文本，条款不能再修改。如确需修改，请联系双方协商后由交易中心另行处理。")
    if not isinstance(values, dict):
        raise ContractError("提交的条款格式不正确。")
    unknown = [k for k in values if k not in FREE_KEYS]
    if unknown:
        raise ContractError(f"只能修改约定条款（{'、'.join(c.title for c in FREE_CLAUSES)}）。", field=unknown[0])
    before = clauses_of(contract)
    after = dict(before)
    for c in FREE_CLAUSES:
        if c.key not in values:
            continue
        value = values[c.key]
        if not isinstance(value, str):
            raise ContractError(f"“{c.title}”应为文字。", field=c.key)
        value = "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").split("\n")).strip()
        if not value:
            raise ContractError(f"请填写“{c.title}”；没有约定的写“无”。", field=c.key)
        if len(value) > MAX_CLAUSE:
            raise ContractError(f"“{c.title}”不能超过 {MAX_CLAUSE} 字。", field=c.key)
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
            raise ContractError(f"“{c.title}”含有不可见的控制字符。", field=c.key)
        after[c.key] = value
    changed = {k: after[k] for k in FREE_KEYS if after[k] != before[k]}
    if not changed:
        return contract
    contract.clauses = json.dumps(after, ensure_ascii=False, sort_keys=True)
    db.session.flush()
    record("contract.clauses", f"修改合同约定条款：{contract.listing.project_no}", obj_type="contract",
           obj_id=contract.id, before={k: before[k] for k in changed}, after=changed)
    log_event(contract.listing, "contract_clauses", actor, note="修改合同约定条款：" + "、".join(
        c.title for c in FREE_CLAUSES if c.key in changed))
    return contract


# --- the parties confirm ---------------------------------------------------------------------------

def due_text(contract: Contract) -> str:
    """The signing deadline as every page and message writes it (:func:`exchange.workdays.services.due_text`)."""
    from exchange.workdays.services import due_text as written
    return written(contract.due_at)


def is_overdue(contract: Contract, now: datetime | None = None) -> bool:
    """Past the signing deadline and not signed by both: the center may declare the default (第二十二条)."""
    return contract.is_unsigned and (now or clock.now()) >= contract.due_at


def signed_late(contract: Contract) -> bool:
    """Both signed, the last signature after the deadline (accepted before any default; shown as 逾期签署)."""
    return contract.effective_at is not None and contract.effective_at >= contract.due_at


def unsigned_sides(contract: Contract) -> list[str]:
    """Who has not signed yet: "seller" (the transferor), "buyer", both, or none."""
    return [side for side, at in (("seller", contract.seller_confirmed_at), ("buyer", contract.buyer_confirmed_at))
            if at is None]


def needs_signature_scan(user, contract: Contract) -> bool:
    """A clerk recording a household's paper signature attaches the scan of the page it signed."""
    return party_side(user, contract) == "seller" and seller_capacity(user, contract) != SELF


def confirm(user, contract: Contract, password: str, upload=None, filename: str | None = None) -> Contract:
    """A party signs the contract: online, re-entering its own password; a clerk recording a transferor's paper
    signature re-enters the clerk's password and uploads the scan of the signed page.  The second signature puts
    the contract in force (:func:`_take_effect`).  Late signatures are accepted until a default is declared."""
    authorise_confirm(user, contract)
    side = party_side(user, contract)
    if contract.state != "draft":
        if contract.is_in_force:
            raise ContractError("双方均已签署，合同已生效，无需再次确认。")
        raise ContractError(f"合同当前状态为“{contract.state_label}”，不能签署。")
    if contract.listing.state != "contract" or contract.deal.state != "confirmed":
        raise ContractError("项目已不在签约阶段（可能已认定违约、中止或终结），不能签署，请联系交易中心。")
    done_at = contract.buyer_confirmed_at if side == "buyer" else contract.seller_confirmed_at
    if done_at is not None:
        raise ContractError(f"您已于 {clock.to_local(done_at):%Y-%m-%d %H:%M} 签署本合同，无需重复确认。")
    if not password or not check_password_hash(user.password_hash, password):
        record("contract.confirm_failed", f"确认合同时密码错误：{contract.listing.project_no}", obj_type="contract",
               obj_id=contract.id)
        raise ContractError("密码不正确，请输入您登录本平台的密码。", field="password")
    body = render_text(contract)
    digest = digest_of(body)
    if contract.text_sha256 and contract.text_sha256 != digest:
        # only a contract signed once before its text was kept (text_html) can get here: what the first party
        # signed can no longer be shown, so nobody signs a text that may differ from it
        raise ContractError("合同文本与对方签署时的文本不一致，不能确认。请联系交易中心核对合同文本。")
    stored = None
    if needs_signature_scan(user, contract):
        missing = "请上传转让方在纸质合同上签字（盖章）的扫描件或照片，作为代为确认的依据。"
        if upload is None:
            raise ContractError(missing, field="file")
        from exchange.uploads import UploadError, accept_upload
        try:
            stored = accept_upload(upload, filename)
        except UploadError as exc:
            raise ContractError(missing if exc.message == "请选择要上传的文件。" else exc.message,
                                field="file") from None
    now = clock.now()
    late = now >= contract.due_at
    contract.text_sha256, contract.text_html = digest, body
    if side == "buyer":
        contract.buyer_confirmed_at, contract.buyer_confirmed_by_id = now, user.id
        who = "受让方"
    else:
        capacity = seller_capacity(user, contract)
        contract.seller_confirmed_at, contract.seller_confirmed_by_id = now, user.id
        contract.seller_confirmed_as = capacity
        who = "转让方" if capacity == SELF else capacity
    if stored is not None:  # the evidence of the paper signature (the full signed contract is uploaded later)
        contract.seller_signature_key, contract.seller_signature_filename = stored.key, stored.filename
        contract.seller_signature_content_type, contract.seller_signature_sha256 = stored.content_type, stored.sha256
    db.session.flush()
    record("contract.confirm", f"{who}签署合同{'（逾期签署）' if late else ''}：{contract.listing.project_no}",
           obj_type="contract", obj_id=contract.id,
           after={"side": side, "text_sha256": digest, "late": late,
                  "scan_sha256": stored.sha256 if stored else None})
    log_event(contract.listing, "contract_confirm", user,
              note=f"{who}签署合同{'（已超过签约期限，逾期签署）' if late else ''}",
              data={"text_sha256": digest, "late": late})
    if contract.buyer_confirmed_at and contract.seller_confirmed_at:
        _take_effect(contract, user)
    return contract


def _take_effect(contract: Contract, actor) -> None:
    """The last signature: the contract is numbered and in force from now; the listing goes on to 结算."""
    from exchange.listings.services import next_number
    now = clock.now()
    local = clock.to_local(now)
    contract.contract_no = format_no(local.year, next_number("contract", local.year))
    contract.signed_on, contract.effective_at = local.date(), now
    CONTRACT.fire(contract, "sign", actor, authorised=True)
    db.session.flush()
    late = signed_late(contract)
    record("contract.effective", f"合同生效：{contract.contract_no}（{contract.listing.project_no}）"
           f"{'，逾期签署' if late else ''}", obj_type="contract", obj_id=contract.id,
           after={"contract_no": contract.contract_no, "effective_at": now, "late": late,
                  "text_sha256": contract.text_sha256})
    fire(contract.listing, "contract_effective", actor, data={"contract_no": contract.contract_no, "late": late})
    contract_effective.send(contract, actor=actor)  # 第十七条: settlement opens with the contract's effect


# --- the signed scan ---------------------------------------------------------------------------------

def may_upload(user, contract: Contract) -> bool:
    return party_side(user, contract) is not None or may_manage(user, contract)


def _keep_scan(contract: Contract, stored, user) -> None:
    contract.scan_key, contract.scan_filename = stored.key, stored.filename
    contract.scan_content_type, contract.scan_sha256 = stored.content_type, stored.sha256
    contract.scan_uploaded_at, contract.scan_uploaded_by_id = clock.now(), user.id


def upload_scan(user, contract: Contract, upload, filename: str | None = None) -> Contract:
    from exchange.uploads import UploadError, accept_upload
    authorise_upload(user, contract)
    if contract.state == "draft":
        raise ContractError("双方签署合同后，才能上传签字盖章的合同扫描件。")
    if contract.state != "signed":
        raise ContractError(f"合同{contract.state_label}，不能再上传扫描件。")
    try:
        stored = accept_upload(upload, filename)
    except UploadError as exc:
        raise ContractError(exc.message, field="file") from None
    _keep_scan(contract, stored, user)
    CONTRACT.fire(contract, "upload", user, authorised=True)
    db.session.flush()
    record("contract.scan", f"上传签章合同扫描件：{contract.listing.project_no}", obj_type="contract",
           obj_id=contract.id, after={"filename": stored.filename, "sha256": stored.sha256})
    log_event(contract.listing, "contract_scan", user, note=f"上传签章合同扫描件 {stored.filename}",
              data={"sha256": stored.sha256})
    return contract


# --- the center checks the scan (part of 鉴证) ---------------------------------------------------------

def format_no(year: int, n: int) -> str:
    return f"临农交合〔{year}〕第{n:06d}号"


def check(actor, contract: Contract, *, approve: bool, note: str = "") -> Contract:
    """The center checks the signed scan against the text both parties signed: checked (the 鉴证书 may follow the
    settlement) or returned for a new scan.  The contract's effect is the signatures', whatever the check says."""
    authorise_manage(actor, contract)
    if contract.state != "uploaded":
        if contract.state == "checked":
            raise ContractError("签章合同已核验，不能重复审核。")
        raise ContractError("还没有待核验的签章合同扫描件。")
    note = (note or "").strip()
    if len(note) > 500:
        raise ContractError("审核意见不能超过 500 字。", field="note")
    if not approve:
        if not note:
            raise ContractError("请写明退回的原因，双方将看到它。", field="note")
        CONTRACT.fire(contract, "return", actor, reason=note, authorised=True)
        contract.check_note, contract.checked_by_id = note, actor.id
        db.session.flush()
        record("contract.return", f"退回签章合同扫描件：{contract.listing.project_no}（{note}）", obj_type="contract",
               obj_id=contract.id)
        log_event(contract.listing, "contract_return", actor, note=f"退回签章合同扫描件：{note}")
        return contract
    CONTRACT.fire(contract, "check", actor, authorised=True)
    contract.check_note, contract.checked_by_id = note, actor.id
    db.session.flush()
    record("contract.checked", f"核验签章合同：{contract.contract_no}（{contract.listing.project_no}）",
           obj_type="contract", obj_id=contract.id,
           after={"scan_sha256": contract.scan_sha256, "text_sha256": contract.text_sha256})
    log_event(contract.listing, "contract_checked", actor, note="签章合同扫描件核验无误")
    return contract


# --- lists ------------------------------------------------------------------------------------------

def staff_list(user, state: str | None = None) -> list[Contract]:
    """Contracts for staff: the center sees all; a village clerk or town station those of its area (they
    confirm for households without an account)."""
    if can(user, "contracts.manage") or user.role == Role.SUPERVISOR:
        stmt = select(Contract)
    elif user.role in (Role.POINT_CLERK, Role.STATION_REVIEWER):
        from exchange.access import scope_clause
        stmt = select(Contract).join(Listing, Listing.id == Contract.listing_id).where(
            scope_clause(user, Listing.org_path))
    else:
        raise AccessDenied("您没有权限查看合同签订情况。")
    if state:
        stmt = stmt.where(Contract.state == state)
    return list(db.session.scalars(stmt.order_by((Contract.state.in_(UNSIGNED_STATES)).desc(), Contract.due_at,
                                                 Contract.id).limit(500)))
