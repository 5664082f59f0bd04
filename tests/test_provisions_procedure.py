"""交易程序 (实施方案 二(四)4): 信息收集—交易申请—材料审核—信息公告—意向受让登记—交纳交易保证金—组织交易—交易公示—
成交签约—交易资金结算—出具交易鉴证.  A listing goes through these steps in this order, and the listing's transition
table lets none of them be skipped."""
import pytest

from exchange.listings.models import Listing
from exchange.listings.workflow import TRANSITIONS
from tests.builders import Lifecycle

# the listing's states along the procedure, after the draft the village point collected (信息收集): 交易申请 (submitted
# to the station), 材料审核 (the station's 初审, the center's review), 信息公告, 组织交易 (意向受让登记 and 交纳保证金
# happen during the 公告期), 交易公示, 成交签约, 资金结算, 出具鉴证, done
PROCEDURE = ["draft", "station_review", "center_review", "announced", "trading", "publicity", "contract", "settlement",
             "certification", "completed"]
# where a step may lead off the procedure: 退回, 不予受理, 流拍, 中止, 终结, 违约
OFF_PROCEDURE = {"returned", "rejected", "failed", "suspended", "terminated", "defaulted"}


@pytest.mark.article("交易程序")
def test_a_completed_listing_went_through_every_step_in_order(users, frozen, db, uploads, signing_key):
    life = Lifecycle(users, db).to("completed")
    listing = db.session.get(Listing, life.listing.id)
    moves = [e for e in listing.events if e.from_state != e.to_state]
    assert [e.to_state for e in moves] == PROCEDURE[1:]
    assert [e.at for e in moves] == sorted(e.at for e in moves)
    # 意向受让登记 and 交纳保证金: the winner registered, was qualified and paid during the 公告期, before 组织交易
    announced_at, trading_at = (next(e.at for e in moves if e.to_state == s) for s in ("announced", "trading"))
    reg = life.deal.registration
    assert reg.state == "paid" and announced_at <= reg.reviewed_at <= reg.paid_at <= listing.deposit_deadline_at
    assert reg.paid_at <= trading_at
    assert life.certificate is not None and life.certificate.deal_id == life.deal.id  # 出具鉴证


class _Draft:
    """A listing as the submit transition reads it (its target depends on who applied)."""

    def __init__(self, origin):
        self.origin = origin


@pytest.mark.article("交易程序")
def test_no_transition_skips_a_step_of_the_procedure():
    """From each step the table leads only to the next one (or off the procedure: returned, failed, suspended …).
    The one shortcut is the 交易申请 a transferor makes directly to the center (第十一条) or the center's relisting
    after 流拍: from the draft straight to the center's review."""
    skips = []
    for t in TRANSITIONS.values():
        if t.name == "restart":  # back to the step it was suspended in
            continue
        targets = {t.target_for(_Draft(o)) for o in ("point", "direct")} if callable(t.target) else {t.target}
        for source in t.sources & set(PROCEDURE):
            for target in targets - OFF_PROCEDURE:
                step = PROCEDURE.index(target) - PROCEDURE.index(source)
                if step != 1 and (source, target) != ("draft", "center_review"):
                    skips.append((t.name, source, target))
    assert not skips, skips
    # and each step has its way on to the next
    ways = {(s, t.target) for t in TRANSITIONS.values() if isinstance(t.target, str) for s in t.sources}
    ways.add(("draft", "station_review"))  # submit (a callable target)
    assert all((a, b) in ways for a, b in zip(PROCEDURE, PROCEDURE[1:]))
