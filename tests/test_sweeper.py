"""The deadline sweeper: unpaid deposits 视为放弃 at the deadline, idempotent, one process at a time."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.audit.models import AuditEntry
from exchange.deadlines import sweeper
from exchange.extensions import db as _db
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from exchange.registrations.models import Registration
from tests.builders import PDF, applied

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture
def two_qualified(users, announced, db):
    regs = [applied(users, announced), applied(users, announced, key="buyer_org")]
    for r in regs:
        rsvc.qualify(users["center_reviewer"], r)
    deposits.confirm_deposit(users["finance"], regs[0], "16000", source_key="S-1", receipt=PDF, receipt_filename="r.pdf")
    db.session.commit()
    return regs


def test_sweep_abandons_unpaid_at_the_deadline_and_only_then(users, two_qualified, announced, db):
    paid, unpaid = two_qualified
    clock.freeze(announced.deposit_deadline_at - timedelta(seconds=1))
    assert sweeper.sweep().counts["deposits.abandon_unpaid"] == 0
    clock.freeze(announced.deposit_deadline_at)
    result = sweeper.sweep()
    assert result.ran and result.counts["deposits.abandon_unpaid"] == 1
    db.session.expire_all()
    assert db.session.get(Registration, unpaid.id).state == "abandoned"
    assert db.session.get(Registration, paid.id).state == "paid"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "registration.abandoned"))
    assert entry.actor_name == "定时任务"
    assert sweeper.sweep().counts["deposits.abandon_unpaid"] == 0  # idempotent


def test_cli_sweep(app, users, two_qualified, announced, db):
    clock.freeze(announced.deposit_deadline_at + timedelta(minutes=1))
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0 and "deposits.abandon_unpaid: 1" in result.output


@pytest.mark.concurrency
def test_two_processes_sweeping_at_once_act_once(app, users, two_qualified, announced, db):
    clock.freeze(announced.deposit_deadline_at + timedelta(minutes=1))
    barrier = threading.Barrier(2)
    results = []

    def run():
        with app.app_context():
            barrier.wait()
            try:
                results.append(sweeper.sweep())
            except Exception as exc:  # noqa: BLE001 — a crash of either sweeper fails the test below
                results.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, sweeper.SweepResult) for r in results), results
    assert sum(r.counts.get("deposits.abandon_unpaid", 0) for r in results) == 1
    db.session.expire_all()
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "registration.abandoned")).all()
    assert len(actions) == 1
