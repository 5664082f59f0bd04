"""Deposit refunds: 5 工作日, maker-checker, once only, overdue flagged."""
from datetime import date
from decimal import Decimal

import pytest

from exchange import clock
from exchange.access import AccessDenied
from exchange.ledger import refunds
from exchange.ledger import services as led
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from tests.builders import PDF, applied

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture
def paid(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="r-paid", receipt=PDF, receipt_filename="回单.pdf")
    db.session.commit()
    return reg


@pytest.mark.article("第十九条")
def test_refund_maker_checker(users, paid, db):
    refund = refunds.open_refund(paid, "lost")
    assert refund.amount == Decimal("16000.00") and refund.state == "pending"
    # frozen Monday 2026-11-23: 5 working days → end of Monday 11-30
    assert clock.to_local(refund.due_at).date() == date(2026, 12, 1)
    assert refunds.open_refund(paid, "lost") is refund  # idempotent
    refunds.record_transfer(users["finance"], refund, "TK2026112301")
    with pytest.raises(refunds.RefundError) as exc:
        refunds.approve(users["finance"], refund)  # the same person
    assert "不能是同一人" in exc.value.message
    refunds.approve(users["finance2"], refund)
    db.session.commit()
    assert refund.state == "approved"
    assert led.held(led.deposit_account(paid.listing, paid.buyer)) == Decimal("0.00")
    refunds.approve(users["finance2"], refund)  # approving again changes nothing
    assert led.check() == []


def test_only_finance_and_in_order(users, paid):
    refund = refunds.open_refund(paid, "abandoned")
    with pytest.raises(refunds.RefundError):
        refunds.approve(users["finance2"], refund)  # not recorded yet
    for key in ["center_reviewer", "admin", "supervisor", "buyer"]:
        with pytest.raises(AccessDenied):
            refunds.record_transfer(users[key], refund, "x")
    with pytest.raises(refunds.RefundError):
        refunds.record_transfer(users["finance"], refund, "  ")


def test_overdue_refunds_are_listed(users, paid):
    refund = refunds.open_refund(paid, "lost")
    assert refunds.overdue() == []
    clock.freeze(refund.due_at)
    assert refunds.overdue() == []
    clock.advance(seconds=1)
    assert refunds.overdue() == [refund]


def test_nothing_to_refund(users, announced, db):
    reg = applied(users, announced)
    with pytest.raises(refunds.RefundError):
        refunds.open_refund(reg, "rejected")
    with pytest.raises(refunds.RefundError):
        refunds.open_refund(reg, "because")


def test_database_refuses_one_person_as_maker_and_checker(users, paid, db):
    refund = refunds.open_refund(paid, "lost")
    refunds.record_transfer(users["finance"], refund, "TK1")
    db.session.commit()
    refund.approved_by_id = users["finance"].id
    with pytest.raises(Exception):
        db.session.flush()
    db.session.rollback()


@pytest.mark.article("第十九条")
def test_open_for_listing_refunds_everyone_but_the_kept(users, announced, db):
    from tests.factories import make_org_buyer
    users["buyer_coop"] = make_org_buyer("t_coop2", "9343068200000011", org_type="cooperative")
    regs = [applied(users, announced, key=k) for k in ("buyer", "buyer_org", "buyer_coop")]
    for i, r in enumerate(regs):
        rsvc.qualify(users["center_reviewer"], r)
        if i < 2:
            deposits.confirm_deposit(users["finance"], r, "16000", source_key=f"k-{i}", receipt=PDF,
                                 receipt_filename="回单.pdf")
    opened = refunds.open_for_listing(announced, "lost", keep_registration_ids=[regs[0].id])
    assert [r.registration_id for r in opened] == [regs[1].id]  # the unpaid third has nothing to refund
    assert opened[0].reason == "lost" and opened[0].amount == Decimal("16000.00")
    # again: the same refund, not a second one
    assert [r.id for r in refunds.open_for_listing(announced, "lost", keep_registration_ids=[regs[0].id])] == \
        [opened[0].id]
    everyone = refunds.open_for_listing(announced, "terminated")
    assert {r.registration_id for r in everyone} == {regs[0].id, regs[1].id}
