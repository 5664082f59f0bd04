"""终结交易 (第二十四条).

The center's reviewer ends a listing on one of the five grounds, with the approving document (uploaded,
sniffed).  Allowed until the 鉴证书 is issued (DESIGN §3.11: 公告, 组织交易, 交易公示, 签约, 结算, 鉴证, 违约处理, or
while 中止): a scheduled bidding session is cancelled, a deal and its contract are voided, a settlement is void with
its money unwound (a payout not yet recorded cancelled, fees returned, the price taken returned to the buyer through a
four-eyes refund), and every deposit still held is put up for refund within 5 工作日 (第十九条(二)); qualified buyers
can no longer pay.  Once the proceeds were paid out (or their transfer recorded) termination is refused: the money has
left the designated account and the case is a dispute (第二十七条); after the 鉴证书, its revocation.
"""
from __future__ import annotations

from sqlalchemy import select

from exchange import stages
from exchange.access import require
from exchange.audit.services import record
from exchange.errors import ServiceError
from exchange.incidents.models import TERMINATION_GROUNDS, Termination
from exchange.extensions import db
from exchange.ledger import refunds
from exchange.listings.workflow import TRANSITIONS, fire


class TerminationError(ServiceError):
    """A termination that cannot be decided as asked."""


def authorise_terminate(reviewer, listing) -> None:
    """The center's reviewer of the listing's scope ends it."""
    require(reviewer, "listings.terminate", listing.org)


def terminate(reviewer, listing, *, ground: str, basis: str, document=None,
              document_filename: str | None = None) -> Termination:
    authorise_terminate(reviewer, listing)
    from exchange.incidents.suspension import close_on_termination
    if listing.state not in TRANSITIONS["terminate"].sources:
        if listing.state == "completed":
            raise TerminationError("已出具鉴证书的项目不能终结：请撤销鉴证书，并登记纠纷调解（第二十七条）。")
        raise TerminationError("未进入挂牌公告的项目请退回或不予受理；已结束的项目不能终结。")
    from exchange.settlement.services import termination_problem
    problem = termination_problem(listing)
    if problem:
        raise TerminationError(problem)
    from exchange.incidents.decisions import grounded
    basis, stored = grounded(TerminationError, TERMINATION_GROUNDS, ground, basis, document, document_filename,
                             article="第二十四条", what="终结", basis_hint="批准或通知文件的机关、文号和主要内容",
                             document_hint="批准终结的文件（或法院通知书）")
    from_state = listing.state
    stages.terminated(listing, reviewer)  # each stage ends its own rows: sessions cancelled, deal and contract void
    close_on_termination(listing)
    from exchange.incidents.breach import close_on_termination as close_default_case
    close_default_case(listing, reviewer)
    fire(listing, "terminate", reviewer, reason=f"{TERMINATION_GROUNDS[ground]}：{basis}",
         data={"ground": ground, "document_sha256": stored.sha256})
    opened = refunds.open_for_listing(listing, "terminated")
    t = Termination(listing_id=listing.id, ground=ground, basis=basis, from_state=from_state,
                    document_key=stored.key, document_filename=stored.filename,
                    document_content_type=stored.content_type, document_sha256=stored.sha256,
                    decided_by_id=reviewer.id, refunds_opened=len(opened))
    db.session.add(t)
    db.session.flush()
    record("listing.terminated", f"终结交易：{listing.project_no}（{TERMINATION_GROUNDS[ground]}），"
           f"应退保证金 {len(opened)} 笔", obj_type="listing", obj_id=listing.id,
           after={"ground": ground, "basis": basis, "refunds": [r.id for r in opened]})
    return t


def termination_of(listing) -> Termination | None:
    return db.session.scalar(select(Termination).where(Termination.listing_id == listing.id))
