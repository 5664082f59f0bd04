"""不可抗力 (第二十二条: 非不可抗原因逾期未签订交易合同 … 由违约方承担责任).

A party late to sign (or the buyer late to pay) because of 不可抗力 claims it with its evidence — online itself (the
buyer; the transferor with its own account, or the clerk who records its signature) or through the center's reviewer,
who records a claim brought on paper.  While it is pending no default can be declared against that party
(:func:`exchange.incidents.breach.overdue_state`).  The reviewer decides: **accepted** — no liability, the stage's
clock (the contract's 签约期限, or the settlement's 结算期限) is extended by the decided 工作日 counted from the later of
now and the old deadline (the center may instead terminate, 第二十四条); **rejected** — with the reason, the default
may be declared once the clock has run out.
"""
from __future__ import annotations

from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.audit.services import record
from exchange.db import lock_row
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.incidents.models import FORCE_MAJEURE_SIDES, DEFAULT_STAGES, ForceMajeureClaim
from exchange.incidents.states import FORCE_MAJEURE
from exchange.listings.workflow import log_event
from exchange.trading.models import Deal
from exchange.workdays.services import due_after_working_days, due_text

EXTEND_MIN, EXTEND_MAX = 1, 30
FACTS_MIN, FACTS_MAX = 10, 2000


class ForceMajeureError(ServiceError):
    """A claim that cannot be filed or decided as asked."""


def pending_claim(deal: Deal) -> ForceMajeureClaim | None:
    return db.session.scalar(select(ForceMajeureClaim).where(ForceMajeureClaim.deal_id == deal.id,
                                                             ForceMajeureClaim.state == "pending"))


def claims_of(listing) -> list[ForceMajeureClaim]:
    return list(db.session.scalars(select(ForceMajeureClaim).where(ForceMajeureClaim.listing_id == listing.id)
                                   .order_by(ForceMajeureClaim.id)))


def _live_deal(listing) -> Deal:
    from exchange.trading.services import deal_for
    deal = deal_for(listing)
    if listing.state not in DEFAULT_STAGES or deal is None or deal.state != "confirmed":
        raise ForceMajeureError("只有签约中或结算中的项目才能提出不可抗力申请。")
    return deal


def own_side(user, listing) -> str | None:
    """The side ``user`` may claim for as a party: the buyer, or the transferor (itself, or the clerk who signs for
    it); None for anybody else."""
    from exchange.contracts.services import contract_for_deal, party_side
    from exchange.trading.services import deal_for
    deal = deal_for(listing)
    contract = contract_for_deal(deal) if deal is not None else None
    return party_side(user, contract) if contract is not None else None


def may_file(user, listing) -> bool:
    return can(user, "defaults.decide", listing.org) or own_side(user, listing) is not None


def file_claim(actor, listing, *, side: str, facts: str, document=None, filename: str | None = None
               ) -> ForceMajeureClaim:
    """Record a party's claim of 不可抗力 with its evidence (a party for its own side, or the center's reviewer)."""
    staff = can(actor, "defaults.decide", listing.org)
    mine = own_side(actor, listing)
    if not staff and mine is None:
        raise AccessDenied("只有交易双方或交易中心可以提出不可抗力申请。")
    if side not in FORCE_MAJEURE_SIDES:
        raise ForceMajeureError("请选择提出申请的一方。", field="side")
    if not staff and side != mine:
        raise AccessDenied("只能为本方提出不可抗力申请。")
    deal = lock_row(db.session, Deal, _live_deal(listing).id)
    stage = "contract" if listing.state == "contract" else "settlement"
    if stage == "settlement" and side != "buyer":
        raise ForceMajeureError("结算阶段只有受让方交付价款的期限，转让方无需申请。", field="side")
    if pending_claim(deal) is not None:
        raise ForceMajeureError("已有一份不可抗力申请等待交易中心决定。")
    facts = (facts or "").strip()
    if not FACTS_MIN <= len(facts) <= FACTS_MAX:
        raise ForceMajeureError(f"请写明不可抗力的事实、发生时间及其如何影响按期签约或付款（{FACTS_MIN} 至 {FACTS_MAX} 字）。",
                                field="facts")
    missing = "请上传不可抗力的证明材料（如受灾证明、医院证明、政府部门文件）。"
    if document is None:
        raise ForceMajeureError(missing, field="document")
    from exchange.uploads import UploadError, accept_upload
    try:
        stored = accept_upload(document, filename)
    except UploadError as exc:
        raise ForceMajeureError(missing if exc.message == "请选择要上传的文件。" else f"证明材料：{exc.message}",
                                field="document") from None
    claim = ForceMajeureClaim(listing_id=listing.id, deal_id=deal.id, side=side, stage=stage, facts=facts,
                              document_key=stored.key, document_filename=stored.filename,
                              document_content_type=stored.content_type, document_sha256=stored.sha256,
                              filed_by_id=actor.id, filed_at=clock.now())
    db.session.add(claim)
    db.session.flush()
    record("force_majeure.file", f"{FORCE_MAJEURE_SIDES[side]}提出不可抗力申请：{listing.project_no}",
           obj_type="force_majeure_claim", obj_id=claim.id,
           after={"side": side, "stage": stage, "document_sha256": stored.sha256})
    log_event(listing, "force_majeure_file", actor, note=f"{FORCE_MAJEURE_SIDES[side]}提出不可抗力申请")
    return claim


def _parse_days(days) -> int:
    try:
        n = int(str(days).strip())
    except (TypeError, ValueError):
        raise ForceMajeureError(f"延长期限应为 {EXTEND_MIN} 至 {EXTEND_MAX} 个工作日的整数。", field="extend_days") from None
    if not EXTEND_MIN <= n <= EXTEND_MAX:
        raise ForceMajeureError(f"延长期限应为 {EXTEND_MIN} 至 {EXTEND_MAX} 个工作日。", field="extend_days")
    return n


def decide_claim(reviewer, claim: ForceMajeureClaim, *, accept: bool, decision: str, extend_days=None
                 ) -> ForceMajeureClaim:
    """The center's decision: accepted (the clock extended by ``extend_days`` 工作日) or rejected, with reasons."""
    listing = claim.listing
    require(reviewer, "defaults.decide", listing.org)
    claim = lock_row(db.session, ForceMajeureClaim, claim.id)
    if claim.state != "pending":
        raise ForceMajeureError(f"该申请已{claim.state_label}。")
    decision = (decision or "").strip()
    if not 4 <= len(decision) <= 2000:
        raise ForceMajeureError("请写明决定的理由（4 至 2000 字），当事人将看到它。", field="decision")
    n = _parse_days(extend_days) if accept else 0
    deal = lock_row(db.session, Deal, claim.deal_id)
    now = clock.now()
    if accept:
        if deal.state != "confirmed" or listing.state != claim.stage:
            raise ForceMajeureError("项目已不在提出申请时的阶段，不能再延长期限；如需终结交易，请使用“终结交易”。")
        target = _clock_of(deal, claim.stage)
        before = clock.ensure_aware(target.due_at)
        after = due_after_working_days(max(now, before), n).at
        target.due_at = after
        if claim.stage == "contract":
            deal.contract_due_at = after
        claim.due_before, claim.due_after = before, after
    FORCE_MAJEURE.fire(claim, "accept" if accept else "reject", reviewer, reason=decision, authorised=True)
    claim.decision, claim.extend_days = decision, n
    claim.decided_by_id, claim.decided_at = reviewer.id, now
    db.session.flush()
    what = f"不可抗力成立，期限延长 {n} 个工作日至 {due_text(claim.due_after)}" if accept else "不可抗力不成立"
    record("force_majeure.decide", f"{claim.side_label}的不可抗力申请：{what}（{listing.project_no}）",
           obj_type="force_majeure_claim", obj_id=claim.id,
           after={"state": claim.state, "extend_days": n, "due_before": claim.due_before, "due_after": claim.due_after})
    log_event(listing, "force_majeure_decide", reviewer, note=f"{claim.side_label}的不可抗力申请：{what}。{decision}")
    return claim


def _clock_of(deal: Deal, stage: str):
    """The row whose ``due_at`` is the stage's clock: the contract (签约) or the settlement (结算)."""
    if stage == "contract":
        from exchange.contracts.services import contract_for_deal
        row = contract_for_deal(deal)
    else:
        from exchange.settlement.services import for_deal
        row = for_deal(deal)
    if row is None:
        raise ForceMajeureError("该阶段的期限尚未开始，无需延长。")
    return row
