"""A buyer's registration (意向受让登记), as a state machine: applied → qualified → paid, or rejected, or
abandoned when the deposit does not arrive by its deadline (第十三条, 第十九条(一)), or disqualified (取消资格) when the
center finds the buyer committed a prohibited act in the listing before its deal (第二十五条)."""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


class RegState(States):
    APPLIED = "applied", "待资格审核"
    QUALIFIED = "qualified", "资格已确认，待交保证金"
    REJECTED = "rejected", "资格未通过"
    PAID = "paid", "保证金已到账"
    ABANDONED = "abandoned", "逾期未交保证金，视为放弃"
    DISQUALIFIED = "disqualified", "取消资格（存在禁止行为）"

    # still standing: not rejected, not lapsed
    LIVE = nonmember(frozenset({"applied", "qualified", "paid"}))
    # a deposit may still arrive; the buyer is in the race (qualified or paid)
    IN_RACE = nonmember(frozenset({"qualified", "paid"}))
    # the reviewer decided against it, the buyer let it lapse, or the center disqualified it (第二十五条)
    OUT = nonmember(frozenset({"rejected", "abandoned", "disqualified"}))


REGISTRATION = Machine("registration", RegState, [
    Transition("qualify", "确认资格", frozenset({"applied"}), "qualified", "registrations.review"),
    Transition("reject", "作出不予登记的决定", frozenset({"applied"}), "rejected", "registrations.review",
               reason_required=True),
    # the deposit booked (payments, under a lock on the row; the way in authorised its actor)
    Transition("pay", "确认保证金到账", frozenset({"qualified"}), "paid"),
    # the sweeper, at the deposit deadline
    Transition("abandon", "视为放弃", frozenset({"qualified"}), "abandoned"),
    # 第二十五条: a prohibited act found by the center while the listing is still before its deal
    # (exchange.incidents.conduct decides it; a deposit held goes back through the normal refund)
    Transition("disqualify", "取消报名资格", frozenset({"applied", "qualified", "paid"}), "disqualified",
               "conduct.decide", reason_required=True),
], scope=lambda reg: reg.listing.org, what=lambda reg: "报名")


# --- the buyers' clocks (exchange/stages.py) --------------------------------------------------------------------

def _declare_stage() -> None:
    from sqlalchemy import select

    from exchange import stages
    from exchange.extensions import db

    def rows(listing):
        from exchange.registrations.models import Registration
        return list(db.session.scalars(select(Registration).where(
            Registration.listing_id == listing.id, Registration.state.in_(("applied", "qualified")))
            .order_by(Registration.id)))

    def load(reg_id):
        from exchange.registrations.models import Registration
        return db.session.get(Registration, reg_id)

    stages.declare(stages.Stage(
        "registration", 20, rows=rows, load=load,
        clocks=(stages.Clock("review_due_at", stages.WORKDAYS, "资格审核期限", lambda r: r.state == "applied"),
                stages.Clock("deposit_deadline_at", stages.WORKDAYS, "保证金截止", lambda r: r.state == "qualified"))))


_declare_stage()
