"""禁止行为认定 (第二十五条).

《管理办法》第二十五条 forbids, in the course of a trade, (一) 操纵交易现场或者扰乱交易秩序, (二) acts that harm the
fair trade of the transferor and the transferees, and (三) other acts the laws, regulations and rules forbid.  The
warnings of :mod:`exchange.supervision.alerts` (bidders sharing a phone, an IP address or a bank account …) only
point at what may be such an act; here the center's reviewer (``conduct.decide``) *finds* one against a participant
of a published listing — a buyer (its registration there, whatever its state) or the transferor — on one of the
article's three items, with the facts and the evidence (an uploaded document, sniffed like every upload), optionally
linked to the warning that prompted it.  The decision states its consequences:

* **取消报名资格** (``void``): the participant's registration in the listing is disqualified through its state
  machine — only while the listing is still before its deal (公告期, or 组织交易 without a concluded deal).  A deposit
  it holds is put up for refund through the normal refund flow (5 工作日, four eyes): the platform does not invent a
  forfeiture the announcement did not state.  In a scheduled bidding session its bids stop counting (the highest
  price is that of the others' bids), and a listing left in 组织交易 with no paid buyer and no session fails (流拍).
  When the participant is already the buyer of the deal, or the listing is past its deal, nothing is voided here:
  the finding is recorded and the page says what to use instead (违约, 第二十二条; 终结, 第二十四条).
* **禁止报名** (``ban_days``, 0 = none): the participant may not apply for new listings for that many days after
  the decision, by account and by identity number — kept by :mod:`exchange.registrations`, which refuses the
  application with the end date (this package writes it through ``registrations.services``).

The finding is recorded whatever became of the consequences (``void_outcome`` says), audited, shown to the
supervisor (``conduct.view``, read-only) and to the participant on their own pages.  Services flush, never commit.
"""
from __future__ import annotations

import unicodedata

from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.audit.services import record
from exchange.db import lock_row
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.incidents.models import CONDUCT_GROUNDS, CONDUCT_ITEMS, CONDUCT_SIDES, ConductFinding
from exchange.inputs import InputError, parse_int
from exchange.listings.models import Listing
from exchange.listings.workflow import PUBLIC_STATES
from exchange.registrations import services as rsvc
from exchange.registrations.models import Registration

FACTS_MIN, FACTS_MAX = 10, 4000
BAN_MAX_DAYS = rsvc.BAN_MAX_DAYS
# the listing is still before its deal: a registration may be voided
BEFORE_DEAL = ("announced", "trading")


class ConductError(ServiceError):
    """A finding of a prohibited act that cannot be recorded as asked."""


# --- reading ------------------------------------------------------------------------------------------

def listing_eligible(listing) -> bool:
    """A prohibited act is found in the course of a trade: the listing must have been published."""
    return listing is not None and bool(listing.project_no) and listing.state in PUBLIC_STATES


def participants(listing) -> list[tuple[str, str]]:
    """(key, label) of who may be found against: each registration of the listing, then the transferor."""
    regs = db.session.scalars(select(Registration).where(Registration.listing_id == listing.id)
                              .order_by(Registration.id)).all()
    out = [(f"registration:{r.id}", f"意向受让方：{r.buyer.display_name}"
                                    + (f"（竞买号 {r.bidder_no}）" if r.bidder_no else "") + f" · {r.state_label}")
           for r in regs]
    out.append(("transferor", f"转让方：{listing.transferor_name or '（未填写）'}"))
    return out


def search(viewer, *, listing_id: int | None = None, ground: str | None = None):
    """A select() of findings for the list page, newest first."""
    require(viewer, "conduct.view")
    stmt = select(ConductFinding)
    if listing_id is not None:
        stmt = stmt.where(ConductFinding.listing_id == listing_id)
    if ground in CONDUCT_GROUNDS:
        stmt = stmt.where(ConductFinding.ground == ground)
    return stmt.order_by(ConductFinding.decided_at.desc(), ConductFinding.id.desc())


def may_view(user, finding: ConductFinding) -> bool:
    """The center's staff and the supervisor (``conduct.view``), and the participant found against."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return can(user, "conduct.view") or (finding.user_id is not None and finding.user_id == user.id)


def authorise_view(user, finding: ConductFinding) -> None:
    if not may_view(user, finding):
        raise AccessDenied("您没有权限查看该禁止行为认定。")


def against(user) -> list[ConductFinding]:
    """The findings against this account (its own page), newest first."""
    if user is None or getattr(user, "id", None) is None:
        return []
    return list(db.session.scalars(select(ConductFinding).where(ConductFinding.user_id == user.id)
                                   .order_by(ConductFinding.id.desc())))


def of_registration(reg: Registration) -> list[ConductFinding]:
    """The findings against the buyer of ``reg`` in its listing (its registration page)."""
    return list(db.session.scalars(select(ConductFinding).where(ConductFinding.listing_id == reg.listing_id,
                                                                ConductFinding.registration_id == reg.id)
                                   .order_by(ConductFinding.id.desc())))


def ban_of(finding: ConductFinding):
    if finding.ban_id is None:
        return None
    from exchange.registrations.models import RegistrationBan
    return db.session.get(RegistrationBan, finding.ban_id)


def alert_of(finding: ConductFinding):
    if finding.alert_id is None:
        return None
    from exchange.supervision.models import SupervisionAlert
    return db.session.get(SupervisionAlert, finding.alert_id)


# --- deciding -----------------------------------------------------------------------------------------

def _text(value, field: str, lo: int, hi: int, message: str) -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None or not lo <= len(value) <= hi:
        raise ConductError(message, field=field)
    value = value.replace("\r\n", "\n")
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in value):
        raise ConductError("内容含有无法显示的控制字符，请删除后重新填写。", field=field)
    return value


def _participant(listing, key) -> tuple[str, Registration | None]:
    """(side, registration) of the participant chosen on the form: ``registration:<id>`` or ``transferor``."""
    key = key if isinstance(key, str) else ""
    if key == "transferor":
        return "transferor", None
    prefix, _, raw = key.partition(":")
    if prefix == "registration":
        try:
            reg_id = parse_int(raw, minimum=1)
        except InputError:
            reg_id = None
        reg = db.session.get(Registration, reg_id) if reg_id else None
        if reg is not None and reg.listing_id == listing.id:
            return "buyer", reg
    raise ConductError("请选择被认定的当事人：本项目的一位意向受让方，或转让方。", field="participant")


def _ban_days(value) -> int:
    if value in (None, ""):
        return 0
    try:
        return parse_int(value, field="ban_days", label="禁止报名的天数", minimum=0, maximum=BAN_MAX_DAYS)
    except InputError as exc:
        raise ConductError(exc.message, field="ban_days") from None


def alert_for(listing, alert_id):
    """The supervision warning a finding refers to (of this listing, or of none), or None when not given."""
    if alert_id in (None, ""):
        return None
    from exchange.supervision.models import SupervisionAlert
    try:
        found = db.session.get(SupervisionAlert, parse_int(alert_id, minimum=1))
    except InputError:
        found = None
    if found is None or found.listing_id not in (None, listing.id):
        raise ConductError("关联的监督预警不存在，或不是本项目的预警。", field="alert_id")
    return found


def decide(reviewer, listing, *, participant: str, ground: str, facts: str, evidence, evidence_filename=None,
           void: bool = False, ban_days=0, alert_id=None) -> ConductFinding:
    """认定禁止行为 (第二十五条) against a participant of ``listing``, with its consequences as decided."""
    require(reviewer, "conduct.decide")
    if not listing_eligible(listing):
        raise ConductError("该项目还没有发布交易公告，没有可认定的交易行为。")
    side, reg = _participant(listing, participant)
    if ground not in CONDUCT_GROUNDS:
        raise ConductError("请选择第二十五条规定的情形：（一）、（二）或（三）。", field="ground")
    facts = _text(facts, "facts", FACTS_MIN, FACTS_MAX,
                  f"请写明认定的事实：谁、在什么时间、做了什么，依据哪些证据（{FACTS_MIN} 至 {FACTS_MAX} 字）。")
    days = _ban_days(ban_days)
    alert = alert_for(listing, alert_id)
    void = bool(void)
    if side == "buyer":
        user, name, ident = reg.buyer, reg.buyer.display_name, rsvc.identity_of(reg.buyer)
        same = ConductFinding.registration_id == reg.id
    else:
        from exchange.accounts.models import User
        user = db.session.get(User, listing.transferor_user_id) if listing.transferor_user_id else None
        name = listing.transferor_name or (user.display_name if user else "")
        ident = (listing.transferor_id_no or (rsvc.identity_of(user) if user else "")).upper()
        same = ConductFinding.side == "transferor"
    if days and user is None and not ident:
        raise ConductError("该转让方没有平台账号，也没有登记证件号码，无法禁止其报名；请将天数填为 0。", field="ban_days")
    if db.session.scalar(select(ConductFinding.id).where(ConductFinding.listing_id == listing.id, same,
                                                         ConductFinding.ground == ground)):
        raise ConductError(f"已经就第二十五条{CONDUCT_ITEMS[ground]}对{name}在本项目作出过认定，不能重复认定。",
                           field="ground")
    if evidence is None or _empty_upload(evidence):
        raise ConductError("请上传证据材料（现场记录、询问笔录、截图或有关部门的认定文书等的扫描件）。",
                           field="evidence")
    from exchange.uploads import UploadError, accept_upload
    try:
        stored = accept_upload(evidence, evidence_filename)
    except UploadError as exc:
        raise ConductError(f"证据材料：{exc}", field="evidence") from None

    label = f"第二十五条{CONDUCT_ITEMS[ground]}{CONDUCT_GROUNDS[ground]}"
    finding = ConductFinding(listing_id=listing.id, alert_id=alert.id if alert else None, side=side,
                             registration_id=reg.id if reg else None, user_id=user.id if user else None,
                             subject_name=name[:100], subject_ident=ident[:18], ground=ground, facts=facts,
                             evidence_key=stored.key, evidence_filename=stored.filename,
                             evidence_content_type=stored.content_type, evidence_sha256=stored.sha256,
                             void_requested=void, void_outcome="", ban_days=days, decided_by_id=reviewer.id,
                             decided_at=clock.now())
    db.session.add(finding)
    db.session.flush()
    if void:
        finding.void_outcome = _void(reviewer, listing, side, reg, finding, label)
    if days:
        ban = rsvc.ban_from_registering(reviewer, user=user, ident=ident, name=name, days=days, reason=label)
        finding.ban_id = ban.id
    db.session.flush()
    ban = ban_of(finding)
    record("conduct.decide", f"认定禁止行为：{listing.project_no} {CONDUCT_SIDES[side]} {name}，{label}",
           obj_type="conduct_finding", obj_id=finding.id,
           after={"listing": listing.project_no, "side": side, "registration": finding.registration_id,
                  "user_id": finding.user_id, "ground": ground, "facts": facts, "evidence_sha256": stored.sha256,
                  "alert": finding.alert_id, "void_requested": void, "void_outcome": finding.void_outcome or None,
                  "refund": finding.refund_id, "ban_days": days,
                  "ban_until": ban.last_day.isoformat() if ban else None})
    return finding


def _void(reviewer, listing, side: str, reg: Registration | None, finding: ConductFinding, label: str) -> str:
    """取消报名资格 as far as the rules allow; what became of it (a key of VOID_OUTCOMES)."""
    if side == "transferor" or reg is None:
        return "transferor"
    from exchange.trading import services as tsvc
    tsvc.hold_session(listing)  # a bid or the session's end waits: the race is decided on what follows
    listing = lock_row(db.session, Listing, listing.id)
    reg = lock_row(db.session, Registration, reg.id)
    deal = tsvc.deal_for(listing)
    if deal is not None and deal.buyer_id == reg.buyer_id and (deal.is_live or deal.is_defaulted):
        return "deal_buyer"
    if listing.state not in BEFORE_DEAL or (deal is not None and deal.is_live):
        return "after_deal"
    if not reg.is_live:
        return "not_live"
    before = rsvc.disqualify(reviewer, reg, f"{label}（禁止行为认定 #{finding.id}）")
    if before == "paid":
        from exchange.ledger import refunds
        from exchange.ledger import services as ledger
        if ledger.held(ledger.deposit_account(listing, reg.buyer)) > 0:
            finding.refund_id = refunds.open_refund(reg, "disqualified").id
    tsvc.bidder_out(reg)
    return "voided"


def _empty_upload(upload) -> bool:
    """A form posted without choosing a file (Werkzeug gives an empty FileStorage with no name)."""
    return getattr(upload, "filename", None) == "" and not isinstance(upload, (bytes, bytearray, memoryview))
