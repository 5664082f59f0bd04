"""A settlement (结算) and its payout (划付) as state machines.

The settlement: awaiting the balance → paid (the balance booked, or nothing was left to pay) → settled (the payout
approved); or void when the buyer defaults before paying (第二十二条) or the listing is terminated before the proceeds
left (第二十四条).  The payout is the four-eyes transfer of :mod:`exchange.ledger.states`: pending → recorded (the
maker) → approved (another finance user); a payout nobody has recorded yet is cancelled by a termination."""
from __future__ import annotations

from enum import nonmember

from exchange.ledger.states import transfer_transitions
from exchange.machine import Machine, States, Transition


class SettlementState(States):
    AWAITING = "awaiting", "待付价款"
    PAID = "paid", "价款已到账"
    SETTLED = "settled", "已结算"
    VOID = "void", "已作废"

    # the price has arrived (fees may be charged and the proceeds paid out)
    FUNDED = nonmember(frozenset({"paid", "settled"}))


SETTLEMENT = Machine("settlement", SettlementState, [
    # the balance booked (book_balance, under a lock on the row; the way in authorised its actor), or nothing
    # was left to pay when it opened (the deposit covered price and fee)
    Transition("pay", "确认价款到账", frozenset({"awaiting"}), "paid"),
    # the payout approved by the second finance user (settlement.manage, checked by the service)
    Transition("settle", "完成结算", frozenset({"paid"}), "settled"),
    # the buyer declared in default before the balance arrived (incidents.breach, defaults.decide), or the listing
    # terminated before the proceeds left (第二十四条: the money taken goes back through four-eyes refunds)
    Transition("void", "作废结算", frozenset({"awaiting", "paid"}), "void"),
], what=lambda s: "该结算")


class PayoutState(States):
    PENDING = "pending", "待登记转账"
    RECORDED = "recorded", "待复核"
    APPROVED = "approved", "已划付"
    CANCELLED = "cancelled", "已取消（交易终结）"

    # not paid out yet: on finance's queues
    UNPAID = nonmember(frozenset({"pending", "recorded"}))


PAYOUT = Machine("payout", PayoutState, transfer_transitions("settlement.manage") + [
    # the listing terminated (第二十四条) before any transfer was recorded
    Transition("cancel", "取消划付", frozenset({"pending"}), "cancelled"),
], what=lambda p: "该划付")


# --- the 10 天 to settle and the 3 工作日 to certify; a settlement still awaiting its balance when the buyer
# defaults is void (exchange/stages.py) ----------------------------------------------------------------------------

def _declare_stage() -> None:
    from sqlalchemy import select

    from exchange import stages
    from exchange.extensions import db

    def rows(listing):
        from exchange.settlement.models import Settlement
        from exchange.trading.models import Deal
        from exchange.trading.states import DealState
        return list(db.session.scalars(select(Settlement).join(Deal, Deal.id == Settlement.deal_id).where(
            Deal.listing_id == listing.id, Deal.state.in_(DealState.LIVE),
            Settlement.state.in_(("awaiting", "paid", "settled")))))

    def load(settlement_id):
        from exchange.settlement.models import Settlement
        return db.session.get(Settlement, settlement_id)

    def on_terminate(listing, actor) -> None:
        from exchange.settlement.services import unwind_on_termination
        unwind_on_termination(listing, actor)

    def on_default(listing, deal, actor, reason: str) -> None:
        from exchange.settlement.models import Settlement
        settlement = db.session.scalar(select(Settlement).where(Settlement.deal_id == deal.id))
        if settlement is not None and settlement.is_awaiting:
            SETTLEMENT.fire(settlement, "void", actor, authorised=True)

    stages.declare(stages.Stage(
        "settlement", 60, rows=rows, load=load, on_default=on_default, on_terminate=on_terminate,
        clocks=(stages.Clock("due_at", stages.DAYS, "结算期限（10 天）", lambda s: s.state != "settled"),
                stages.Clock("certificate_due_at", stages.WORKDAYS, "鉴证期限（3 个工作日）"))))


_declare_stage()
