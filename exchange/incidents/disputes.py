"""纠纷调解 (第二十七条).

A dispute over a trade done on the platform may be brought to the center for mediation (the parties may
also go to arbitration under their contract, or to the people's court).  The center's reviewer
(``disputes.manage``) records it against the listing: who applies, against whom, others involved, what is
asked and why; then each mediation session or contact as a note — appended with the time and who wrote
it, never edited — and finally the outcome:

* ``settled``: 调解成功, the agreement's text (and, optionally, the signed 调解协议书 scanned);
* ``failed``: 调解不成, why, and the advice given to the parties (仲裁 under the contract's clause, or a
  suit at the people's court) — the record always states it;
* ``withdrawn``: the applicant withdrew.

A party may also apply online (:func:`apply`): the transferor (its own account, ``listing.transferor_user_id``) or
the buyer of a deal on the listing, with what the dispute is about, what it asks and, optionally, its evidence
(sniffed like every upload).  The application waits in ``applied`` (待受理) until the center's reviewer accepts it
into the mediation above (:func:`accept`) or declines it with a reason the applicant reads (:func:`decline`).  One
application in hand (待受理 or 调解中) per party and listing — the database refuses a second as well — and at most
:data:`APPLICATIONS_MAX` in all per party and listing.  A staff member registering one at the counter
(:func:`open_dispute`) accepts it at once.

A closed record is read-only.  Every step is audited (object ``dispute``).  The center's staff who handle
trading and the supervisor (监管) read the records (``disputes.view``).  A dispute does not change the
listing's state: a 权属争议 that must stop the trade is a 中止 (第二十三条(三)), decided on its own.

Services flush, never commit.
"""
from __future__ import annotations

import json
import unicodedata

from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied, require
from exchange.accounts.models import Role
from exchange.audit.services import record
from exchange.db import lock_row
from exchange.errors import ServiceError
from exchange.incidents.models import DISPUTE_STATES, Dispute
from exchange.incidents.states import DISPUTE, DisputeState
from exchange.extensions import db
from exchange.listings.workflow import PUBLIC_STATES

OUTCOMES = {"settled": "调解成功，达成调解协议", "failed": "调解不成", "withdrawn": "申请人撤回调解申请"}
ADVICE = {
    "arbitration": "已告知当事人可依照合同约定申请仲裁",
    "court": "已告知当事人可依法向人民法院提起诉讼",
    "both": "已告知当事人可依照合同约定申请仲裁，或依法向人民法院提起诉讼",
}
CLOSED_STATES = tuple(m.value for m in DisputeState if m in DisputeState.CLOSED)
ACTIVE_STATES = tuple(m.value for m in DisputeState if m in DisputeState.ACTIVE)
# the outcome chosen → the transition that closes the record with it
CLOSING = {"settled": "settle", "failed": "fail", "withdrawn": "withdraw"}
NAME_MIN, NAME_MAX = 2, 100
PARTIES_MAX = 1000
CLAIMS_MIN, CLAIMS_MAX = 10, 4000
NOTE_MIN, NOTE_MAX = 4, 2000
AGREEMENT_MIN, AGREEMENT_MAX = 10, 4000
REASON_MIN, REASON_MAX = 4, 2000
MEDIATION_MAX_NOTES = 200
REQUESTS_MIN, REQUESTS_MAX = 4, 2000
APPLICATIONS_MAX = 5  # online applications by one party on one listing, declined or closed ones included


class DisputeError(ServiceError):
    """A dispute step that cannot be taken as asked."""


# --- reading ------------------------------------------------------------------------------------------

def notes_of(dispute: Dispute) -> list[dict]:
    """The mediation notes, oldest first: ``{"at": ISO UTC, "by": name (role), "by_id": id, "text": …}``."""
    if not dispute.mediation:
        return []
    try:
        notes = json.loads(dispute.mediation)
    except ValueError:  # (never written by this module) shown whole rather than lost
        return [{"at": None, "by": "", "by_id": None, "text": dispute.mediation}]
    return notes if isinstance(notes, list) else []


def is_closed(dispute: Dispute) -> bool:
    return dispute.is_closed


def disputes_of(listing) -> list[Dispute]:
    return list(db.session.scalars(select(Dispute).where(Dispute.listing_id == listing.id).order_by(Dispute.id)))


def listing_eligible(listing) -> bool:
    """A dispute concerns a trade: the listing must have been published (公告 onwards, a deal or not)."""
    return listing is not None and bool(listing.project_no) and listing.state in PUBLIC_STATES


def search(viewer, *, state: str | None = None, listing_id: int | None = None):
    """A select() of disputes for the list pages: ``state`` is open / closed / one of the states."""
    require(viewer, "disputes.view")
    stmt = select(Dispute)
    if state == "closed":
        stmt = stmt.where(Dispute.state.in_(CLOSED_STATES))
    elif state in DISPUTE_STATES:
        stmt = stmt.where(Dispute.state == state)
    if listing_id is not None:
        stmt = stmt.where(Dispute.listing_id == listing_id)
    return stmt.order_by((Dispute.state == "applied").desc(), (Dispute.state == "open").desc(),
                         Dispute.opened_at.desc(), Dispute.id.desc())


def open_count() -> int:
    return db.session.scalar(select(func.count(Dispute.id)).where(Dispute.state == "open")) or 0


def applied_count() -> int:
    """Online applications waiting for the center to accept or decline them."""
    return db.session.scalar(select(func.count(Dispute.id)).where(Dispute.state == "applied")) or 0


# --- a party's own applications (第二十七条) -------------------------------------------------------------------

def side_of(user, listing) -> str | None:
    """``transferor`` (the listing's own account), ``buyer`` (the buyer of a deal on the listing — the current one
    or one defaulted or voided), or None: the user is no party here and may not apply."""
    if (user is None or not getattr(user, "is_authenticated", False) or not user.is_active
            or user.role != Role.PUBLIC or listing is None):
        return None
    if listing.transferor_user_id is not None and listing.transferor_user_id == user.id:
        return "transferor"
    from exchange.trading.models import Deal
    if db.session.scalar(select(Deal.id).where(Deal.listing_id == listing.id, Deal.buyer_id == user.id).limit(1)):
        return "buyer"
    return None


def authorise_apply(user, listing) -> str:
    """The side the user applies from; refused to anyone who is no party (before anything else is looked at)."""
    side = side_of(user, listing)
    if side is None:
        raise AccessDenied("只有本项目的转让方或买受人可以在线申请纠纷调解。")
    return side


def may_apply(user, listing) -> bool:
    """The apply button: a party, on a published listing, with no application in hand."""
    return (side_of(user, listing) is not None and listing_eligible(listing)
            and active_application(user, listing) is None)


def active_application(user, listing) -> Dispute | None:
    return db.session.scalar(select(Dispute).where(Dispute.listing_id == listing.id,
                                                   Dispute.applicant_user_id == user.id,
                                                   Dispute.state.in_(ACTIVE_STATES)).limit(1))


def applications_of(user, listing=None) -> list[Dispute]:
    """The user's own online applications (newest first), on one listing or all."""
    stmt = select(Dispute).where(Dispute.applicant_user_id == user.id)
    if listing is not None:
        stmt = stmt.where(Dispute.listing_id == listing.id)
    return list(db.session.scalars(stmt.order_by(Dispute.id.desc())))


def counterpart(listing, side: str) -> str:
    """The other party's name, to suggest as the respondent: the buyer of the current deal, or the transferor."""
    if side == "buyer":
        return listing.transferor_name or ""
    from exchange.trading.services import deal_for
    deal = deal_for(listing)
    return deal.registration.buyer.display_name if deal is not None else ""


# --- acting -------------------------------------------------------------------------------------------

def _text(value, field: str, lo: int, hi: int, message: str) -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None or not lo <= len(value) <= hi:
        raise DisputeError(message, field=field)
    value = value.replace("\r\n", "\n")
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in value):
        raise DisputeError("内容含有无法显示的控制字符，请删除后重新填写。", field=field)
    return value


def _who(actor) -> str:
    return f"{actor.display_name}（{actor.role_label}）"


def open_dispute(actor, listing, *, applicant: str, respondent: str, claims: str, parties: str = "") -> Dispute:
    """登记纠纷调解申请 on a published listing."""
    require(actor, "disputes.manage", listing.org if listing is not None else None)
    if not listing_eligible(listing):
        raise DisputeError("该项目尚未发布交易公告，还没有可以调解的交易纠纷。")
    applicant = _text(applicant, "applicant", NAME_MIN, NAME_MAX,
                      f"请填写申请人（姓名或单位名称，{NAME_MIN} 至 {NAME_MAX} 字）。")
    respondent = _text(respondent, "respondent", NAME_MIN, NAME_MAX,
                       f"请填写被申请人（姓名或单位名称，{NAME_MIN} 至 {NAME_MAX} 字）。")
    if applicant == respondent:
        raise DisputeError("申请人和被申请人不能是同一人。", field="respondent")
    parties = _text(parties, "parties", 0, PARTIES_MAX, f"其他当事人或利害关系人不能超过 {PARTIES_MAX} 字。")
    claims = _text(claims, "claims", CLAIMS_MIN, CLAIMS_MAX,
                   f"请写明调解请求和事实理由（{CLAIMS_MIN} 至 {CLAIMS_MAX} 字）。")
    now = clock.now()
    d = Dispute(listing_id=listing.id, applicant=applicant, respondent=respondent, parties=parties,
                claims=claims, mediation="", outcome="", opened_by_id=actor.id, opened_at=now)
    db.session.add(d)
    db.session.flush()
    DISPUTE.fire(d, "accept", actor, authorised=True)  # registered at the counter: accepted at once
    d.accepted_by_id, d.accepted_at = actor.id, now
    db.session.flush()
    record("dispute.open", f"登记纠纷调解：{listing.project_no} {applicant} 与 {respondent}", obj_type="dispute",
           obj_id=d.id, after={"listing": listing.project_no, "applicant": applicant, "respondent": respondent,
                               "parties": parties, "claims": claims})
    return d


def apply(user, listing, *, claims: str, requests: str, respondent: str = "", evidence=None,
          evidence_filename: str | None = None) -> Dispute:
    """申请调解 online by a party (第二十七条): what the dispute is about (``claims``), what it asks (``requests``),
    against whom (``respondent``, by default the other party) and optionally its evidence (PDF/JPG/PNG, sniffed).
    The record waits for the center (待受理)."""
    side = authorise_apply(user, listing)  # who asks first: a stranger learns nothing of the listing
    if not listing_eligible(listing):
        raise DisputeError("该项目还没有发布交易公告，暂时不能申请调解。")
    if active_application(user, listing) is not None:
        raise DisputeError("您对本项目已有一件调解申请正在办理（待受理或调解中），请在原申请中查看进度，不要重复申请。")
    made = db.session.scalar(select(func.count(Dispute.id)).where(Dispute.listing_id == listing.id,
                                                                  Dispute.applicant_user_id == user.id)) or 0
    if made >= APPLICATIONS_MAX:
        raise DisputeError(f"您已就本项目申请调解 {made} 次。如仍有争议，可以依照合同约定申请仲裁，或依法向人民法院"
                           "提起诉讼（第二十七条）。")
    claims = _text(claims, "claims", CLAIMS_MIN, CLAIMS_MAX,
                   f"请写明纠纷的事实和理由：发生了什么、什么时候、涉及哪些人（{CLAIMS_MIN} 至 {CLAIMS_MAX} 字）。")
    requests = _text(requests, "requests", REQUESTS_MIN, REQUESTS_MAX,
                     f"请写明您的调解请求：希望怎样解决（{REQUESTS_MIN} 至 {REQUESTS_MAX} 字）。")
    respondent = (respondent or "").strip() or counterpart(listing, side)
    respondent = _text(respondent, "respondent", NAME_MIN, NAME_MAX,
                       f"请填写被申请人（对方当事人的姓名或单位名称，{NAME_MIN} 至 {NAME_MAX} 字）。")
    applicant = user.display_name[:NAME_MAX]
    if respondent == applicant:
        raise DisputeError("被申请人不能是您自己。", field="respondent")
    stored = None
    if evidence is not None and not _empty_upload(evidence):
        from exchange.uploads import UploadError, accept_upload
        try:
            stored = accept_upload(evidence, evidence_filename)
        except UploadError as exc:
            raise DisputeError(f"证据材料：{exc}", field="evidence") from None
    d = Dispute(listing_id=listing.id, applicant=applicant, respondent=respondent, parties="", claims=claims,
                requests=requests, mediation="", outcome="", applicant_user_id=user.id, applicant_side=side,
                opened_by_id=user.id, opened_at=clock.now())
    if stored is not None:
        d.evidence_key, d.evidence_filename = stored.key, stored.filename
        d.evidence_content_type, d.evidence_sha256 = stored.content_type, stored.sha256
    db.session.add(d)
    db.session.flush()
    record("dispute.apply", f"在线申请纠纷调解：{listing.project_no} {applicant}（{d.applicant_side_label}）与 {respondent}",
           obj_type="dispute", obj_id=d.id,
           after={"listing": listing.project_no, "side": side, "applicant": applicant, "respondent": respondent,
                  "claims": claims, "requests": requests, "evidence_sha256": stored.sha256 if stored else None})
    return d


def _lock_applied(dispute: Dispute) -> Dispute:
    d = lock_row(db.session, Dispute, dispute.id)
    if d is None:
        raise DisputeError("找不到该纠纷调解记录。")
    if not d.is_applied:
        raise DisputeError(f"该调解申请已经处理（{d.state_label}），不能再受理或不予受理。")
    return d


def accept(actor, dispute: Dispute, note: str = "") -> Dispute:
    """受理: the application goes into mediation (then notes and the outcome as for any record)."""
    require(actor, "disputes.manage", dispute.listing.org)
    note = _text(note, "note", 0, NOTE_MAX, f"受理意见不能超过 {NOTE_MAX} 字。")
    d = _lock_applied(dispute)
    DISPUTE.fire(d, "accept", actor, reason=note, authorised=True)
    d.accepted_by_id, d.accepted_at = actor.id, clock.now()
    if note:  # the first line of the mediation record
        d.mediation = json.dumps([{"at": d.accepted_at.isoformat(), "by": _who(actor), "by_id": actor.id,
                                   "text": f"受理：{note}"}], ensure_ascii=False)
    db.session.flush()
    record("dispute.accept", f"受理纠纷调解申请：{d.listing.project_no} {d.applicant}", obj_type="dispute", obj_id=d.id,
           before={"state": "applied"}, after={"state": d.state, "note": note or None})
    return d


def decline(actor, dispute: Dispute, reason: str) -> Dispute:
    """不予受理, with the reason the applicant reads (and what else they may do: 仲裁 or the court)."""
    require(actor, "disputes.manage", dispute.listing.org)
    reason = _text(reason, "reason", REASON_MIN, REASON_MAX,
                   f"请写明不予受理的理由，申请人将看到它（{REASON_MIN} 至 {REASON_MAX} 字）。")
    d = _lock_applied(dispute)
    DISPUTE.fire(d, "decline", actor, reason=reason, authorised=True)
    d.outcome = reason
    d.closed_by_id, d.closed_at = actor.id, clock.now()
    db.session.flush()
    record("dispute.decline", f"不予受理纠纷调解申请：{d.listing.project_no} {d.applicant}：{reason}",
           obj_type="dispute", obj_id=d.id, before={"state": "applied"}, after={"state": d.state, "reason": reason})
    return d


def _lock_open(dispute: Dispute) -> Dispute:
    """The dispute's row locked and read afresh; refused once it is closed (a closed record is read-only)."""
    d = lock_row(db.session, Dispute, dispute.id)
    if d is None:
        raise DisputeError("找不到该纠纷调解记录。")
    if is_closed(d):
        raise DisputeError(f"该纠纷调解已结案（{d.state_label}），记录不能再修改。")
    if d.is_applied:
        raise DisputeError("该调解申请还没有受理：请先受理，再记录调解情况或结案。")
    return d


def add_note(actor, dispute: Dispute, note: str) -> Dispute:
    """Append one mediation note (a session held, each side's position, what was proposed)."""
    require(actor, "disputes.manage", dispute.listing.org)
    note = _text(note, "note", NOTE_MIN, NOTE_MAX, f"请填写调解情况（{NOTE_MIN} 至 {NOTE_MAX} 字）。")
    d = _lock_open(dispute)
    notes = notes_of(d)
    if len(notes) >= MEDIATION_MAX_NOTES:
        raise DisputeError(f"调解记录已达 {MEDIATION_MAX_NOTES} 条，请结案或另行登记。")
    entry = {"at": clock.now().isoformat(), "by": _who(actor), "by_id": actor.id, "text": note}
    notes.append(entry)
    d.mediation = json.dumps(notes, ensure_ascii=False)
    db.session.flush()
    record("dispute.note", f"纠纷调解记录：{d.listing.project_no} 第 {len(notes)} 条", obj_type="dispute", obj_id=d.id,
           after={"seq": len(notes), **entry})
    return d


def close(actor, dispute: Dispute, *, outcome: str, text: str, advice: str | None = None, document=None,
          document_filename: str | None = None) -> Dispute:
    """结案: settled (the agreement), failed (why, and the advice given) or withdrawn; optionally with the
    scanned 调解协议书 or record (sniffed PDF/JPG/PNG)."""
    require(actor, "disputes.manage", dispute.listing.org)
    if outcome not in OUTCOMES:
        raise DisputeError("请选择调解结果：调解成功、调解不成或申请人撤回。", field="outcome")
    if outcome == "settled":
        body = _text(text, "text", AGREEMENT_MIN, AGREEMENT_MAX,
                     f"请写明调解协议的内容（{AGREEMENT_MIN} 至 {AGREEMENT_MAX} 字）。")
        stated = body
    elif outcome == "failed":
        body = _text(text, "text", REASON_MIN, REASON_MAX,
                     f"请写明调解不成的原因（{REASON_MIN} 至 {REASON_MAX} 字）。")
        if advice not in ADVICE:
            raise DisputeError("调解不成的，请选择已告知当事人的救济途径：依照合同约定申请仲裁，或向人民法院提起诉讼"
                               "（第二十七条）。", field="advice")
        stated = f"{body}\n处理意见：{ADVICE[advice]}（第二十七条）。"
    else:
        body = _text(text, "text", REASON_MIN, REASON_MAX,
                     f"请写明撤回的情况（谁、何时、以何种方式撤回，{REASON_MIN} 至 {REASON_MAX} 字）。")
        stated = body
    if outcome != "failed" and advice not in (None, ""):
        raise DisputeError("只有调解不成时才需要选择救济途径。", field="advice")
    stored = None
    if document is not None and not _empty_upload(document):
        from exchange.uploads import UploadError, accept_upload
        try:
            stored = accept_upload(document, document_filename)
        except UploadError as exc:
            raise DisputeError(f"调解文书扫描件：{exc}", field="document") from None
    d = _lock_open(dispute)
    DISPUTE.fire(d, CLOSING[outcome], actor, reason=stated, authorised=True)
    d.outcome = stated
    d.closed_by_id, d.closed_at = actor.id, clock.now()
    if stored is not None:
        d.document_key, d.document_filename = stored.key, stored.filename
        d.document_content_type, d.document_sha256 = stored.content_type, stored.sha256
    db.session.flush()
    record("dispute.close", f"纠纷调解结案：{d.listing.project_no} {DISPUTE_STATES[outcome]}", obj_type="dispute",
           obj_id=d.id, before={"state": "open"},
           after={"state": outcome, "outcome": stated, "advice": advice if outcome == "failed" else None,
                  "document_sha256": stored.sha256 if stored else None})
    return d


def _empty_upload(upload) -> bool:
    """A form posted without choosing a file (Werkzeug gives an empty FileStorage with no name)."""
    return getattr(upload, "filename", None) == "" and not isinstance(upload, (bytes, bytearray, memoryview))
