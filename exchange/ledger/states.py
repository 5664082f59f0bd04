"""The four-eyes transfer (maker-checker) as a state machine: money leaves the designated account only after one
finance user records the bank transfer (回单号) and a *different* one approves it, which posts the ledger entry —
pending → recorded → approved.  Refunds of deposits here (:data:`REFUND`) and payouts of proceeds in settlement
(``exchange.settlement.states.PAYOUT``) are two rows of this one shape: :func:`transfer_transitions` is its table.
(That the checker is not the maker is the service's check and the database's ``four_eyes`` constraint.)"""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


def transfer_transitions(action: str) -> list[Transition]:
    """record (pending → recorded, the maker) and approve (recorded → approved, the checker), both under the
    finance right ``action``; the service checks the right and the four eyes itself and fires authorised."""
    return [
        Transition("record", "登记转账", frozenset({"pending"}), "recorded", action),
        Transition("approve", "复核通过", frozenset({"recorded"}), "approved", action),
    ]


class RefundState(States):
    PENDING = "pending", "待登记转账"
    RECORDED = "recorded", "待复核"
    APPROVED = "approved", "已退还"

    # not paid back yet: what the 5-working-day clock still runs on
    UNPAID = nonmember(frozenset({"pending", "recorded"}))


REFUND = Machine("refund", RefundState, transfer_transitions("refunds.manage"), what=lambda refund: "该退款")
