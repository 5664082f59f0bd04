"""Issue 15 item 5: one four-eyes transfer (exchange/ledger/transfers.py) behind the refund (退款) and the payout (划付).

For both kinds: the maker cannot approve their own transfer (the same message as ever), approving twice posts one
journal entry, and — on PostgreSQL, where two connections really run at once — two checkers approving the same
recorded transfer at the same moment post one entry and approve it once: the second waits on the row's lock and
finds it approved."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange.audit.models import AuditEntry
from exchange.ledger import refunds
from exchange.ledger import services as led
from exchange.ledger.models import JournalEntry, Refund
from exchange.money import format_yuan
from exchange.payments import deposits
from exchange.registrations import services as rsvc
from exchange.settlement import services as stl
from exchange.settlement.models import Payout
from tests.builders import PDF, applied
from tests.conftest import ENGINE
from tests.helpers import run_at_once

pytestmark = pytest.mark.usefixtures("uploads")

KINDS = ("refund", "payout")


def _recorded_refund(users, announced, db) -> Refund:
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="r-transfer", receipt=PDF,
                             receipt_filename="回单.pdf")
    refund = refunds.open_refund(reg, "lost")
    refunds.record_transfer(users["finance"], refund, "TK-0001")
    db.session.commit()
    return refund


def _recorded_payout(users, effective, db) -> Payout:
    s = stl.ensure_settlement(effective)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-transfer", receipt=PDF,
                        receipt_filename="r.pdf")
    payout = stl.charge_fees(users["finance"], s)
    stl.record_transfer(users["finance"], payout, "HK-0001")
    db.session.commit()
    return payout


@pytest.fixture(params=KINDS)
def transfer(request, users, db):
    """(kind, the row recorded by users["finance"], its service module, its error class, its journal kind)."""
    if request.param == "refund":
        row = _recorded_refund(users, request.getfixturevalue("announced"), db)
        return request.param, row, refunds, refunds.RefundError, "refund"
    row = _recorded_payout(users, request.getfixturevalue("effective"), db)
    return request.param, row, stl, stl.SettlementError, "payout"


def _entries(db, kind: str) -> int:
    return db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.kind == kind))


def _audits(db, action: str) -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def test_the_maker_cannot_approve_their_own_transfer(users, db, transfer):
    kind, row, service, error, journal_kind = transfer
    assert row.state == "recorded" and row.recorded_by_id == users["finance"].id
    with pytest.raises(error) as exc:
        service.approve(users["finance"], row)
    assert exc.value.message == "登记人和复核人不能是同一人，请由另一名财务人员复核。"
    db.session.rollback()
    db.session.expire_all()
    assert row.state == "recorded" and row.approved_by_id is None and row.journal_entry_id is None
    assert _entries(db, journal_kind) == 0 and _audits(db, f"{kind}.approve") == 0


def test_the_messages_name_the_kind(users, db, transfer):
    """The words of each kind, byte for byte as before the two copies became one."""
    kind, row, service, error, _ = transfer
    name = {"refund": "退款", "payout": "划付"}[kind]
    with pytest.raises(error) as exc:
        service.record_transfer(users["finance2"], row, "TK-0002")
    assert exc.value.message == f"该{name}已登记转账。"
    db.session.rollback()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == f"{kind}.record"))
    suffix = "" if kind == "refund" else f"至 {row.payee_name}"
    ref = "TK-0001" if kind == "refund" else "HK-0001"
    assert entry.summary == f"登记{name}转账 {ref}，{format_yuan(row.amount)} 元{suffix}"
    service.approve(users["finance2"], row)
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == f"{kind}.approve"))
    assert entry.summary == f"复核通过{name} {ref}，{format_yuan(row.amount)} 元{suffix}"


def test_approving_twice_posts_one_entry(users, db, transfer):
    kind, row, service, _error, journal_kind = transfer
    service.approve(users["finance2"], row)
    db.session.commit()
    first = row.journal_entry_id
    assert row.state == "approved" and row.approved_by_id == users["finance2"].id and first is not None
    assert service.approve(users["finance2"], row) is row  # again: nothing changes
    db.session.commit()
    db.session.expire_all()
    assert row.journal_entry_id == first and row.approved_by_id == users["finance2"].id
    assert _entries(db, journal_kind) == 1 and _audits(db, f"{kind}.approve") == 1
    assert led.check() == []


def test_a_pending_transfer_is_recorded_before_it_is_approved(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="r-order", receipt=PDF,
                             receipt_filename="回单.pdf")
    refund = refunds.open_refund(reg, "lost")
    with pytest.raises(refunds.RefundError) as exc:
        refunds.approve(users["finance2"], refund)
    assert exc.value.message == "请先登记退款转账，再由另一名财务人员复核。"
    with pytest.raises(refunds.RefundError) as exc:
        refunds.record_transfer(users["finance"], refund, " " * 3)
    assert exc.value.message == "请填写退款的银行回单号。" and exc.value.field == "bank_ref"
    assert refund.state == "pending" and refund.amount == Decimal("16000.00")


# --- two checkers at the same moment ----------------------------------------------------------------------------------

@pytest.fixture
def finance3(users, orgs, db):
    from exchange.accounts.models import Role
    from exchange.accounts.services import create_staff
    from exchange.audit.services import acting_as
    from tests.factories import PASSWORD
    with acting_as("test"):
        user = create_staff(None, username="t_finance3", display_name="测试finance3", role=Role.FINANCE.value,
                            org=orgs.center, password=PASSWORD, must_change_password=False)
    db.session.commit()
    return user


@pytest.mark.concurrency
@pytest.mark.skipif(ENGINE != "postgresql",
                    reason="two connections approving at once need PostgreSQL's row locks (SQLite serialises every "
                           "writer); run with EXCHANGE_TEST_DB=postgresql")
def test_two_checkers_at_once_approve_once(app, users, finance3, db, transfer, monkeypatch):
    kind, row, service, _error, journal_kind = transfer
    model, row_id = type(row), row.id
    checkers = [users["finance2"].id, finance3.id]
    db.session.commit()

    # the posting takes a moment, so the two approvals overlap for sure: without the row lock both would have read
    # "recorded" before either posted
    post = led.return_from if kind == "refund" else led.pay_out

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return post(*args, **kwargs)

    monkeypatch.setattr(led, "return_from" if kind == "refund" else "pay_out", slow)

    def approve(i):
        from exchange.accounts.models import User
        with app.app_context():
            checker = db.session.get(User, checkers[i])
            service.approve(checker, db.session.get(model, row_id))
            db.session.commit()
            return checker.id

    run_at_once(2, approve)  # neither raises: the one that waited finds it approved

    db.session.expire_all()
    row = db.session.get(model, row_id)
    assert row.state == "approved" and row.approved_by_id in checkers
    assert _entries(db, journal_kind) == 1, "the transfer was posted twice"
    assert row.journal_entry_id == db.session.scalar(select(JournalEntry.id).where(JournalEntry.kind == journal_kind))
    assert _audits(db, f"{kind}.approve") == 1
    assert led.check() == []
