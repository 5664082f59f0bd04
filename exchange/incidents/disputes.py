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
from exchange.access import require
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
# the outcome chosen → the transition that closes the record with it
CLOSING = {"settled": "settle", "failed": "fail", "withdrawn": "withdraw"}
NAME_MIN, NAME_MAX = 2, 100
PARTIES_MAX = 1000
CLAIMS_MIN, CLAIMS_MAX = 10, 4000
NOTE_MIN, NOTE_MAX = 4, 2000
AGREEMENT_MIN, AGREEMENT_MAX = 10, 4000
REASON_MIN, REASON_MAX = 4, 2000
MEDIATION_MAX_NOTES = 200


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
    return stmt.order_by((Dispute.state == "open").desc(), Dispute.opened_at.desc(), Dispute.id.desc())


def open_count() -> int:
    return db.session.scalar(select(func.count(Dispute.id)).where(Dispute.state == "open")) or 0


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
    d = Dispute(listing_id=listing.id, applicant=applicant, respondent=respondent, parties=parties,
                claims=claims, mediation="", outcome="", opened_by_id=actor.id, opened_at=clock.now())
    db.session.add(d)
    db.session.flush()
    record("dispute.open", f"登记纠纷调解：{listing.project_no} {applicant} 与 {respondent}", obj_type="dispute",
           obj_id=d.id, after={"listing": listing.project_no, "applicant": applicant, "respondent": respondent,
                               "parties": parties, "claims": claims})
    return d


def _lock_open(dispute: Dispute) -> Dispute:
    """The dispute's row locked and read afresh; refused once it is closed (a closed record is read-only)."""
    d = lock_row(db.session, Dispute, dispute.id)
    if d is None:
        raise DisputeError("找不到该纠纷调解记录。")
    if is_closed(d):
        raise DisputeError(f"该纠纷调解已结案（{d.state_label}），记录不能再修改。")
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
