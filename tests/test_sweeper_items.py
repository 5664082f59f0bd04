"""The sweeper commits per item: a failing item is rolled back and retried without holding up the others; a
pass that dies half-way is finished by the next one with nothing done twice; two real sweeper processes
act on each item once; overdue contracts / settlements / certificates / refunds are flagged to the audit
trail once; due dates over the 2026 National Day holiday follow chinese_calendar."""
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from sqlalchemy import func, select, text

from exchange import clock
from exchange.audit.models import AuditEntry
from exchange.contracts.models import Contract
from exchange.deadlines import sweeper
from exchange.deadlines.handlers import ItemHandler
from exchange.extensions import db as _db
from exchange.ledger.models import JournalEntry, Refund
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from exchange.registrations.models import Registration
from exchange.settlement import services as stl
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession, Deal
from exchange.workdays.services import due_after_working_days
from tests.builders import ALL_OK, PDF, applied, attach, full_path, key, new_household_listing, pay, to_trading

pytestmark = pytest.mark.usefixtures("uploads")

ROOT = Path(__file__).resolve().parents[1]
SWEEPER = "定时任务"


# --- building due items with the services -------------------------------------------------------------

def new_announced(users):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    _db.session.commit()
    return listing


def open_sessions(users, listings) -> list[BiddingSession]:
    """An online session on each (trading) listing, both bidders bid; the clock stops at the last end."""
    start = clock.now() + timedelta(minutes=5)
    sessions = [tsvc.schedule_online(users["trading_officer"], _db.session.get(Listing, lst.id), starts_at=start,
                                     free_minutes=10, countdown_seconds=300, max_extension_minutes=30)
                for lst in listings]
    _db.session.commit()
    clock.freeze(start)
    for s in sessions:
        tsvc.place_bid(users["buyer_org"], s.id, "160000", key=key())
    clock.advance(seconds=10)
    for s in sessions:
        tsvc.place_bid(users["buyer"], s.id, "160500", key=key())
    _db.session.commit()
    return sessions


def sessions_due(users, n: int) -> list[BiddingSession]:
    """n listings, each with a finished online session the sweeper has not closed yet."""
    listings = [new_announced(users) for _ in range(n)]
    for lst in listings:
        pay(users, lst, ["buyer", "buyer_org"])
    _db.session.commit()
    to_trading(listings[0])  # one sweep moves them all (same 公告期)
    sessions = open_sessions(users, listings)
    clock.freeze(max(s.ends_at for s in sessions))
    return sessions


def count(model, *where) -> int:
    _db.session.expire_all()
    return _db.session.scalar(select(func.count()).select_from(model).where(*where))


def audits(action: str) -> list[AuditEntry]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def assert_sweeper_acted_once_per_object():
    """No (action, object) written twice by the sweeper."""
    rows = _db.session.execute(select(AuditEntry.action, AuditEntry.object_type, AuditEntry.object_id)
                               .where(AuditEntry.actor_name == SWEEPER)).all()
    twice = [k for k, n in Counter(rows).items() if n > 1]
    assert not twice, twice


# --- per-item commits -----------------------------------------------------------------------------------

def test_one_failing_item_does_not_stop_the_others_and_is_retried(buyers, db, frozen, monkeypatch):
    sessions = sessions_due(buyers, 3)
    bad = sessions[1].id
    real = sweeper.HANDLERS["trading.close_sessions"]

    def flaky(session_id, now):
        done = real.act(session_id, now)  # does the work, then fails: all of it must be rolled back
        if session_id == bad:
            raise RuntimeError("disk full")
        return done

    monkeypatch.setitem(sweeper.HANDLERS, "trading.close_sessions", ItemHandler(real.due, flaky))
    result = sweeper.sweep()
    assert result.ran and result.counts["trading.close_sessions"] == 2
    assert result.failed == {"trading.close_sessions": [bad]}
    assert list(result.counts) == list(sweeper.HANDLERS)  # the handlers after it ran too
    assert "trading.close_sessions: 失败 1 项" in "\n".join(result.lines())
    assert count(Deal) == 2 and count(Refund) == 2
    assert _db.session.get(BiddingSession, bad).state == "scheduled"
    assert {e.object_id for e in audits("trading.session_end")} == {str(s.id) for s in sessions} - {str(bad)}

    monkeypatch.setitem(sweeper.HANDLERS, "trading.close_sessions", real)
    result = sweeper.sweep()
    assert result.counts["trading.close_sessions"] == 1 and not result.failed
    assert count(Deal) == 3 and count(Refund) == 3
    assert len(audits("trading.session_end")) == len(audits("deal.concluded")) == 3
    assert sweeper.sweep().total == 0
    assert_sweeper_acted_once_per_object()


def test_a_plain_handler_that_fails_is_reported_and_the_rest_runs(app, users, db, frozen, monkeypatch):
    def broken(now):
        raise RuntimeError("boom")

    monkeypatch.setitem(sweeper.HANDLERS, "x.broken", broken)
    result = sweeper.sweep()
    assert result.ran and result.failed == {"x.broken": ["*"]} and result.counts["x.broken"] == 0
    assert "refunds.overdue" in result.counts
    cli = app.test_cli_runner().invoke(args=["sweep"])  # `flask sweep` shows it and exits non-zero
    assert cli.exit_code == 1 and "x.broken: 失败 1 项" in cli.output and "refunds.overdue: 0" in cli.output


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing catches it)."""


def _advisory_locks_held() -> int:
    return _db.session.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :k "
                                   "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                              {"k": sweeper.ADVISORY_KEY})


def test_a_pass_that_dies_half_way_is_finished_by_the_next_nothing_twice(buyers, db, frozen, monkeypatch):
    sessions = sessions_due(buyers, 4)
    entries_before = count(JournalEntry)
    real = sweeper.HANDLERS["trading.close_sessions"]
    seen = []

    def dies_on_the_third(session_id, now):
        seen.append(session_id)
        done = real.act(session_id, now)
        if len(seen) == 3:
            raise Crash()  # after the work, before its commit
        return done

    monkeypatch.setitem(sweeper.HANDLERS, "trading.close_sessions", ItemHandler(real.due, dies_on_the_third))
    with pytest.raises(Crash):
        sweeper.sweep()
    _db.session.rollback()
    if _db.session.get_bind().dialect.name == "postgresql":
        assert _advisory_locks_held() == 0  # released although the pass died
    assert count(Deal) == 2 and count(BiddingSession, BiddingSession.state == "scheduled") == 2

    monkeypatch.setitem(sweeper.HANDLERS, "trading.close_sessions", real)
    result = sweeper.sweep()
    assert result.ran and result.counts["trading.close_sessions"] == 2
    assert count(Deal) == 4 and count(Refund) == 4  # one loser per listing
    assert count(BiddingSession, BiddingSession.state == "ended") == 4
    assert len(audits("trading.session_end")) == len(audits("deal.concluded")) == 4
    assert len(audits("listing.conclude")) == 4
    assert count(JournalEntry) == entries_before  # refunds are opened, not posted: no money moved twice
    assert sweeper.sweep().total == 0
    assert_sweeper_acted_once_per_object()
    assert {e.object_id for e in audits("trading.session_end")} == {str(s.id) for s in sessions}


def test_abandon_unpaid_per_item(buyers, announced, db, monkeypatch):
    regs = [applied(buyers, announced, key=k) for k in ("buyer", "buyer_org", "buyer_coop")]
    for r in regs:
        rsvc.qualify(buyers["center_reviewer"], r)
    db.session.commit()
    clock.freeze(announced.deposit_deadline_at)
    real = sweeper.HANDLERS["deposits.abandon_unpaid"]

    def flaky(reg_id, now):
        if reg_id == regs[0].id:
            raise RuntimeError("lost connection")
        return real.act(reg_id, now)

    monkeypatch.setitem(sweeper.HANDLERS, "deposits.abandon_unpaid", ItemHandler(real.due, flaky))
    assert sweeper.sweep().counts["deposits.abandon_unpaid"] == 2
    assert count(Registration, Registration.state == "abandoned") == 2
    monkeypatch.setitem(sweeper.HANDLERS, "deposits.abandon_unpaid", real)
    assert sweeper.sweep().counts["deposits.abandon_unpaid"] == 1
    assert sweeper.sweep().counts["deposits.abandon_unpaid"] == 0
    assert len(audits("registration.abandoned")) == 3
    assert_sweeper_acted_once_per_object()


# --- overdue flags -----------------------------------------------------------------------------------------

def test_overdue_contract_and_refunds_flagged_once(buyers, online_deal, db):
    deal, regs = online_deal
    clock.freeze(deal.publicity_end_at + timedelta(minutes=1))
    assert sweeper.sweep().counts["trading.end_publicity"] == 1
    contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    refunds = db.session.scalars(select(Refund).order_by(Refund.id)).all()
    assert len(refunds) == 2 and contract.due_at == deal.contract_due_at
    refund_due = due_after_working_days(deal.concluded_at, 5).at  # 第十九条: 5 工作日 from the deal
    assert {r.due_at for r in refunds} == {refund_due}
    # 第十六条: 5 工作日 from the end of 交易公示 (3 工作日): 8 from the deal
    assert contract.due_at == due_after_working_days(deal.concluded_at, 8).at > refund_due

    clock.freeze(refund_due - timedelta(seconds=1))
    r = sweeper.sweep()
    assert r.counts["contracts.overdue"] == 0 and r.counts["refunds.overdue"] == 0
    clock.freeze(refund_due)
    r = sweeper.sweep()
    assert r.counts["contracts.overdue"] == 0 and r.counts["refunds.overdue"] == 2
    clock.freeze(contract.due_at - timedelta(seconds=1))
    assert sweeper.sweep().counts["contracts.overdue"] == 0
    clock.freeze(contract.due_at)
    r = sweeper.sweep()
    assert r.counts["contracts.overdue"] == 1 and r.counts["refunds.overdue"] == 0
    for days in (0, 1, 7):
        clock.freeze(contract.due_at + timedelta(days=days, hours=1))
        r = sweeper.sweep()
        assert r.counts["contracts.overdue"] == 0 and r.counts["refunds.overdue"] == 0

    [flag] = audits("contract.overdue")
    assert flag.object_type == "contract" and flag.object_id == str(contract.id) and flag.actor_name == SWEEPER
    assert flag.summary.startswith(f"合同逾期未签订：{deal.listing.project_no}")
    last = clock.to_local(contract.due_at - timedelta(seconds=1))
    assert f"应于 {last:%Y-%m-%d} 24:00 前签订（第十六条），转入违约处理" in flag.summary
    flags = audits("refund.overdue")
    assert sorted(f.object_id for f in flags) == sorted(str(r.id) for r in refunds)
    assert all(f.summary.startswith("保证金退款逾期：") and "16,000.00 元" in f.summary and "（第十九条）" in f.summary
               for f in flags)
    assert '"to":"finance"' in flags[0].after
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).state == "draft"  # flagged, not acted on (default flow)
    assert {r.state for r in db.session.scalars(select(Refund))} == {"pending"}

    # the CLI shows the counts
    clock.freeze(contract.due_at + timedelta(days=10))
    out = _cli_sweep()
    assert "contracts.overdue: 0" in out and "refunds.overdue: 0" in out


def _cli_sweep() -> str:
    from flask import current_app
    result = current_app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_refund_approved_in_time_is_not_flagged(users, announced, db):
    from exchange.ledger import refunds as rf
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="r-1", receipt=PDF, receipt_filename="r.pdf")
    refund = rf.open_refund(reg, "lost")
    rf.record_transfer(users["finance"], refund, "TK-1")
    rf.approve(users["finance2"], refund)
    db.session.commit()
    clock.freeze(refund.due_at + timedelta(days=3))
    assert sweeper.sweep().counts["refunds.overdue"] == 0
    assert audits("refund.overdue") == []


def test_overdue_settlement_and_certificate_flagged_once(users, effective, db):
    deal = effective
    s = stl.ensure_settlement(deal)
    db.session.commit()
    clock.freeze(s.due_at - timedelta(seconds=1))
    assert sweeper.sweep().counts["settlements.overdue"] == 0
    clock.freeze(s.due_at)
    assert sweeper.sweep().counts["settlements.overdue"] == 1
    assert sweeper.sweep().counts["settlements.overdue"] == 0
    [flag] = audits("settlement.overdue")
    assert flag.object_type == "settlement" and flag.object_id == str(s.id)
    assert flag.summary.startswith("资金结算逾期：") and "（第十七条），转入违约处理" in flag.summary
    assert s.payment_ref in flag.summary

    # paid late and settled: now the 鉴证书 is due in 3 工作日
    s = db.session.get(type(s), s.id)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-late", receipt=PDF,
                        receipt_filename="r.pdf")
    db.session.commit()
    full_path(users, s, db)
    db.session.expire_all()
    s = db.session.get(type(s), s.id)
    assert s.state == "settled" and s.certificate_due_at
    clock.freeze(s.certificate_due_at - timedelta(seconds=1))
    assert sweeper.sweep().counts["certificates.overdue"] == 0
    clock.freeze(s.certificate_due_at)
    r = sweeper.sweep()
    assert r.counts["certificates.overdue"] == 1 and r.counts["settlements.overdue"] == 0
    clock.advance(days=2)
    assert sweeper.sweep().counts["certificates.overdue"] == 0
    [flag] = audits("certificate.overdue")
    assert flag.object_type == "deal" and flag.object_id == str(deal.id)
    assert flag.summary.startswith("鉴证书逾期未出具：") and "（第十八条）" in flag.summary
    assert '"to":"center"' in flag.after
    assert len(audits("settlement.overdue")) == 1


# --- the 2026 National Day holiday ------------------------------------------------------------------

def cc_due(start: date, n: int) -> datetime:
    """End of the n-th working day after ``start`` per chinese_calendar, as the UTC instant (local 24:00)."""
    d, counted = start, 0
    while counted < n:
        d += timedelta(days=1)
        counted += chinese_calendar.is_workday(d)
    return clock.local_datetime(d + timedelta(days=1))


@pytest.mark.parametrize("n", [3, 5])
def test_working_day_dues_around_national_day_match_chinese_calendar(n, db):
    assert chinese_calendar.is_workday(date(2026, 9, 20)) and chinese_calendar.is_workday(date(2026, 10, 10))
    assert not any(chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))
    for offset in range(0, 28):
        start = date(2026, 9, 15) + timedelta(days=offset)
        at = clock.local_datetime(start, 10)
        assert due_after_working_days(at, n).at == cc_due(start, n), start
    # the make-up days count: Fri 09-18 + 5 → Thu 09-24 (Sun 09-20 worked); Fri 10-09 + 3 → Tue 10-13
    assert due_after_working_days(clock.local_datetime(date(2026, 9, 18), 10), 5).last_day == date(2026, 9, 24)
    assert due_after_working_days(clock.local_datetime(date(2026, 10, 9), 10), 3).last_day == date(2026, 10, 13)


def test_time_travel_over_national_day(buyers, db):
    clock.freeze(clock.local_datetime(date(2026, 9, 1), 9))
    listing = new_announced(buyers)
    pay(buyers, listing, ["buyer", "buyer_org"])
    db.session.commit()
    to_trading(listing)
    clock.freeze(clock.local_datetime(date(2026, 9, 29), 9))  # Tuesday before the holiday
    [s] = open_sessions(buyers, [listing])
    clock.freeze(s.ends_at)
    assert sweeper.sweep().counts["trading.close_sessions"] == 1
    deal = db.session.scalar(select(Deal))
    [refund] = db.session.scalars(select(Refund)).all()
    expected = cc_due(date(2026, 9, 29), 5)  # 09-30, 10-08, 10-09, 10-10 (Saturday, worked), 10-12
    assert expected == clock.local_datetime(date(2026, 10, 13))
    assert refund.due_at == expected and deal.contract_due_at is None  # the 签约 clock starts with the publicity's end
    assert deal.publicity_end_at == cc_due(date(2026, 9, 29), 3) == clock.local_datetime(date(2026, 10, 10))
    # 第十六条: 5 工作日 after the publicity's last day (10-09): 10-10 (Saturday, worked), 10-12 … 10-15
    signing = cc_due(date(2026, 10, 9), 5)
    assert signing == clock.local_datetime(date(2026, 10, 16))

    clock.freeze(clock.local_datetime(date(2026, 10, 7), 12))  # mid-holiday: 8 calendar days, 1 working day
    r = sweeper.sweep()
    assert r.counts["trading.end_publicity"] == 0 and r.counts["refunds.overdue"] == 0
    clock.freeze(deal.publicity_end_at)
    assert sweeper.sweep().counts["trading.end_publicity"] == 1
    contract = db.session.scalar(select(Contract))
    assert contract.due_at == signing
    clock.freeze(expected - timedelta(seconds=1))
    r = sweeper.sweep()
    assert r.counts["contracts.overdue"] == 0 and r.counts["refunds.overdue"] == 0
    clock.freeze(expected)
    r = sweeper.sweep()
    assert r.counts["contracts.overdue"] == 0 and r.counts["refunds.overdue"] == 1
    [flag] = audits("refund.overdue")
    assert "应于 2026-10-12 24:00 前退还" in flag.summary
    clock.freeze(signing - timedelta(seconds=1))
    assert sweeper.sweep().counts["contracts.overdue"] == 0
    clock.freeze(signing)
    assert sweeper.sweep().counts["contracts.overdue"] == 1
    [flag] = audits("contract.overdue")
    assert "应于 2026-10-15 24:00 前签订" in flag.summary
    clock.advance(days=1)
    assert sweeper.sweep().total == 0


# --- two real sweeper processes ---------------------------------------------------------------------

@pytest.mark.concurrency
def test_two_sweeper_processes_act_on_each_item_once(buyers, db, database_url, tmp_path):
    """Due items of every kind, set up in the past with the services; then two `flask sweep` processes
    on the real clock, started together."""
    clock.freeze(clock.local_datetime(date(2026, 10, 19), 9))
    agreed, *bidding = [new_announced(buyers) for _ in range(4)]
    for lst in (agreed, *bidding):
        pay(buyers, lst, ["buyer", "buyer_org"])
    db.session.commit()
    to_trading(agreed)
    sessions = open_sessions(buyers, [agreed, *bidding])
    clock.freeze(max(s.ends_at for s in sessions))
    tsvc.close_session(sessions[0].id)  # one deal now: its 交易公示, 签约 and a loser's refund run out later
    db.session.commit()
    clock.freeze(clock.local_datetime(date(2026, 10, 27), 9))
    unpaid = new_announced(buyers)
    regs = [applied(buyers, unpaid, key=k) for k in ("buyer_coop", "buyer_3")]
    for r in regs:
        rsvc.qualify(buyers["center_reviewer"], r)
    db.session.commit()
    clock.reset()
    now = clock.now()
    assert unpaid.deposit_deadline_at <= now and db.session.scalar(select(Refund.due_at)) <= now

    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="sweep-test", SCHEDULER="false",
               EXCHANGE_INSTANCE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("TEST_DATABASE_URL", None)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    blocker = None
    if postgres:  # make the two passes overlap for sure: hold the audit chain's head row until both have started
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool
        blocker = create_engine(database_url, poolclass=NullPool).connect()
        blocker.execute(text("UPDATE audit_head SET last_seq = last_seq WHERE id = 1"))
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sweep"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        if postgres:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                db.session.rollback()  # (pg_stat_activity is a snapshot per transaction)
                waiting = db.session.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"))
                if waiting and any(p.poll() is not None for p in procs):
                    break
                time.sleep(0.1)
            else:
                pytest.fail("the two sweepers did not meet")
            # one is mid-pass (holding the advisory lock, waiting for the head row), the other skipped
            assert waiting == 1 and _advisory_locks_held() == 1
            db.session.rollback()
            blocker.rollback()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        if blocker is not None:
            blocker.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
    print(outs)
    assert all(p.returncode == 0 for p in procs), outs
    if postgres:
        assert sum("本次跳过" in o for o, _ in outs) == 1, outs
    totals: Counter = Counter()
    for out, _err in outs:
        for name, n in re.findall(r"^([\w.]+): (\d+)$", out, flags=re.M):
            totals[name] += int(n)
    assert "失败" not in "".join(o for o, _ in outs), outs
    assert totals["deposits.abandon_unpaid"] == 2
    assert totals["listings.close_announcements"] == 1
    assert totals["trading.close_sessions"] == 3
    assert totals["trading.end_publicity"] == 1
    assert totals["contracts.overdue"] == 1
    assert totals["refunds.overdue"] == 1

    db.session.expire_all()
    assert count(Registration, Registration.state == "abandoned") == 2
    assert db.session.get(Listing, unpaid.id).state == "failed"
    assert count(Deal) == 4 and count(BiddingSession, BiddingSession.state == "ended") == 4
    assert len(audits("trading.session_end")) == len(audits("deal.concluded")) == 4
    assert count(Refund) == 4
    assert len(audits("registration.abandoned")) == 2 and len(audits("contract.overdue")) == 1
    assert len(audits("refund.overdue")) == 1 and count(Contract) == 1
    assert_sweeper_acted_once_per_object()
    from exchange.audit.services import verify
    assert verify().ok
