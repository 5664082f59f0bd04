"""The hash-chained audit trail: appending, verification, tampering, concurrency."""
import threading

import pytest
from sqlalchemy import select, text

from exchange.audit import services as audit
from exchange.audit.models import AuditEntry, AuditHead


def _append(n, db, prefix="测试"):
    with audit.acting_as("test"):
        for i in range(n):
            audit.record("test.event", f"{prefix}{i}", obj_type="thing", obj_id=i, before={"v": i},
                         after={"v": i + 1, "金额": "12000.00"})
    db.session.commit()


def test_chain_links_every_entry(db):
    _append(5, db)
    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == "0" * 64
    for a, b in zip(rows, rows[1:]):
        assert b.prev_hash == a.hash
    head = db.session.get(AuditHead, 1)
    assert head.last_seq == 5 and head.last_hash == rows[-1].hash
    result = audit.verify()
    assert result.ok and result.count == 5 and result.message().startswith("审计链完整")


def test_verify_on_empty_trail(db):
    assert audit.verify().ok


def test_edited_row_is_detected(db):
    _append(6, db)
    db.session.execute(text("UPDATE audit_entry SET summary = '篡改' WHERE seq = 3"))
    db.session.commit()
    result = audit.verify()
    assert not result.ok and result.broken_seq == 3
    assert "被改动" in result.message()


def test_edited_json_is_detected(db):
    _append(3, db)
    db.session.execute(text("UPDATE audit_entry SET after = :v WHERE seq = 2"), {"v": '{"v":99}'})
    db.session.commit()
    assert audit.verify().broken_seq == 2


def test_rehashed_row_still_breaks_the_next_link(db):
    """A forger who recomputes the edited row's hash breaks the link to the following row."""
    _append(4, db)
    row = db.session.scalar(select(AuditEntry).where(AuditEntry.seq == 2))
    row.summary = "伪造"
    row.hash = audit._entry_digest(row)
    db.session.commit()
    result = audit.verify()
    assert not result.ok and result.broken_seq == 3


def test_deleted_middle_row_is_detected(db):
    _append(5, db)
    db.session.execute(text("DELETE FROM audit_entry WHERE seq = 2"))
    db.session.commit()
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2


def test_truncated_tail_is_detected(db):
    _append(5, db)
    db.session.execute(text("DELETE FROM audit_entry WHERE seq = 5"))
    db.session.commit()
    result = audit.verify()
    assert not result.ok and result.broken_seq == 5


def test_actor_from_context_and_request(db, users, client):
    from tests.helpers import login
    login(client, "t_admin", "Test2026pass")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login")
                               .order_by(AuditEntry.seq.desc())).first()
    assert entry.actor_id == users["admin"].id and entry.ip == "127.0.0.1"
    assert entry.actor_role == "admin"


def test_entry_is_rolled_back_with_its_change(db):
    with audit.acting_as("test"):
        audit.record("test.event", "会被回滚")
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry)) is None
    _append(1, db)
    assert audit.verify().ok


@pytest.mark.concurrency
def test_concurrent_writers_keep_one_chain(app, db):
    """Eight threads, each with its own connection, append at once: one unbroken chain."""
    from exchange.extensions import db as _db
    errors = []
    barrier = threading.Barrier(8)

    def worker(k):
        try:
            with app.app_context():
                barrier.wait()
                for i in range(10):
                    with audit.acting_as(f"worker{k}"):
                        audit.record("test.concurrent", f"w{k}-{i}")
                    _db.session.commit()
                _db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    db.session.expire_all()
    result = audit.verify()
    assert result.ok and result.count == 80
