"""The deadline sweeper (DESIGN §4.5).

Each handler looks up what is due from stored due timestamps (never from in-memory timers) and acts on
each due item in a transaction of its own, committed before the next item: a failing item is logged and
rolled back, the others go on, and the next pass retries it; a pass that dies half-way (a killed process)
leaves the items it finished committed and the rest for the next pass.  Acting is idempotent: inside the
item's transaction the handler takes the item's lock and re-checks its state first (see
:mod:`exchange.deadlines.handlers`), so nothing is done twice.

One sweeper at a time: on PostgreSQL a pass first takes a session-level advisory lock on a connection of
its own, held for the whole pass (a transaction-level lock would go at the first per-item commit) and
released at the end — also when the pass fails; a dead process's connection releases it.  Of several app
processes (gunicorn workers on several machines) only one sweeps at a time and the others skip that tick.
On SQLite each item's transaction takes the database's write lock before it re-reads the item, which
serialises two sweepers item by item.

Correctness never waits for a tick: services compare with the clock when they act (a deposit arriving
after its deadline is refused at the moment it is booked); the sweeper makes the consequences visible
(视为放弃, overdue flags …) without anyone having to look.

Handlers: deposits unpaid at their deadline → 视为放弃 (第十九条(一)); announcements over → 组织交易 or 流拍;
bidding sessions past their end → the deal or 流拍; 交易公示 over → 签约; a contract draft or a settlement its
step did not open → opened (:mod:`exchange.deadlines.handlers`); overdue contract (第十六条),
settlement (第十七条), certificate (第十八条) and refund (第十九条(二)) written once to the audit trail
(:mod:`exchange.deadlines.overdue`).  ``HANDLERS`` also accepts a plain ``handler(now) -> int``, run and
committed as one unit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Union

from sqlalchemy import text

from exchange import clock
from exchange.accounts import throttle
from exchange.deadlines import overdue
from exchange.deadlines.handlers import (ABANDON_UNPAID, CLOSE_ANNOUNCEMENTS, CLOSE_SESSIONS, END_PUBLICITY,
                                         OPEN_BIDS, OPEN_MISSING_CONTRACTS, ItemHandler, open_missing_settlements)
from exchange.incidents.breach import EXPIRE_OFFERS
from exchange.extensions import db
from exchange.notifications import handlers as notify
from exchange.supervision import alerts as supervision_alerts

log = logging.getLogger(__name__)
ADVISORY_KEY = 0x4C58_5357  # "LXSW"

Handler = Union[ItemHandler, Callable[[datetime], int]]

# name → handler; run in this order
HANDLERS: dict[str, Handler] = {
    "deposits.abandon_unpaid": ABANDON_UNPAID,
    "listings.close_announcements": CLOSE_ANNOUNCEMENTS,
    "procurement.open_bids": OPEN_BIDS,
    "trading.close_sessions": CLOSE_SESSIONS,
    "trading.end_publicity": END_PUBLICITY,
    # the fallback for a contract / settlement its step's signal did not open (the pages never open one on GET)
    "contracts.open_missing": OPEN_MISSING_CONTRACTS,
    "settlements.open_missing": open_missing_settlements,
    "offers.expire": EXPIRE_OFFERS,
    "contracts.overdue": overdue.CONTRACTS,
    "settlements.overdue": overdue.SETTLEMENTS,
    "certificates.overdue": overdue.CERTIFICATES,
    # notifications (exchange.notifications): reminders once per person, then the pending e-mails and SMS
    "notify.deposit_due": notify.DEPOSIT_DUE,
    "notify.bidding_starts": notify.BIDDING_STARTS,
    "notify.contract_due": notify.CONTRACT_DUE,
    "notify.settlement_due": notify.SETTLEMENT_DUE,
    "notify.certificate_due": notify.CERTIFICATE_DUE,
    "notify.deliver": notify.DELIVER,
    # 监督预警 (exchange.supervision.alerts): overdue clocks are found from the same due queries, flagged or not
    "alerts.detect": supervision_alerts.detect,
    "refunds.overdue": overdue.REFUNDS,
    # sign-in counts a day after their last failure (exchange.accounts.throttle)
    "accounts.forget_login_failures": throttle.sweep_stale,
}


@dataclass
class SweepResult:
    ran: bool
    at: datetime
    counts: dict[str, int] = field(default_factory=dict)  # name → items acted on
    failed: dict[str, list] = field(default_factory=dict)  # name → ids of the items that failed (retried next pass)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failures(self) -> int:
        return sum(len(v) for v in self.failed.values())

    def lines(self) -> list[str]:
        """``name: n`` per handler, then ``name: 失败 k 项 …`` for those with failures."""
        out = [f"{name}: {n}" for name, n in self.counts.items()]
        out += [f"{name}: 失败 {len(ids)} 项（编号 {', '.join(map(str, ids))}，已记录日志，下次重试）"
                for name, ids in self.failed.items() if ids]
        return out


class _PassLock:
    """PostgreSQL: a session-level advisory lock on a dedicated connection for the whole pass."""

    def __init__(self) -> None:
        self.conn = None

    def acquire(self) -> bool:
        if db.session.get_bind().dialect.name != "postgresql":
            return True  # SQLite: per-item write locks (see the module docstring)
        conn = db.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar())
            conn.commit()  # the lock is the session's; no transaction is left open while the pass runs
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self.conn = conn
        return True

    def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.rollback()
            released = conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY}).scalar()
            conn.commit()
            if not released:
                raise RuntimeError("advisory lock was not held")
        except BaseException:  # never hand a connection that may still hold the lock back to the pool
            log.exception("could not release the sweeper's advisory lock; dropping its connection")
            conn.invalidate()
        finally:
            conn.close()


def _run_items(name: str, handler: ItemHandler, now: datetime, result: SweepResult) -> None:
    try:
        ids = handler.due(now)
    except Exception:  # noqa: BLE001 — this handler only; the others still run
        db.session.rollback()
        log.exception("sweeper %s: finding the due items failed", name)
        result.counts[name], result.failed[name] = 0, ["*"]
        return
    db.session.rollback()  # the read is over; each item starts a transaction of its own
    acted, failed = 0, []
    for item_id in ids:
        try:
            done = handler.act(item_id, now)
            db.session.commit()
        except Exception:  # noqa: BLE001 — this item only: logged, rolled back, retried next pass
            db.session.rollback()
            log.exception("sweeper %s: item %s failed", name, item_id)
            failed.append(item_id)
            continue
        except BaseException:
            db.session.rollback()
            raise
        acted += bool(done)
    result.counts[name] = acted
    if failed:
        result.failed[name] = failed


def _run_whole(name: str, handler: Callable[[datetime], int], now: datetime, result: SweepResult) -> None:
    try:
        n = handler(now)
        db.session.commit()
    except Exception:  # noqa: BLE001
        db.session.rollback()
        log.exception("sweeper %s failed", name)
        result.counts[name] = 0
        result.failed[name] = ["*"]
        return
    except BaseException:
        db.session.rollback()
        raise
    result.counts[name] = int(n or 0)


def sweep(now: datetime | None = None) -> SweepResult:
    """One pass over every handler, committing per item.  Skips (ran=False) while another process is
    sweeping (PostgreSQL).  A failing item does not stop the pass; see ``SweepResult.failed``."""
    from exchange.audit.services import acting_as
    now = now or clock.now()
    db.session.commit()  # whatever the caller had pending is its own, not part of an item
    lock = _PassLock()
    if not lock.acquire():
        return SweepResult(False, now)
    result = SweepResult(True, now)
    try:
        with acting_as("定时任务"):
            for name, handler in HANDLERS.items():
                if isinstance(handler, ItemHandler):
                    _run_items(name, handler, now, result)
                else:
                    _run_whole(name, handler, now, result)
    except BaseException:
        db.session.rollback()
        raise
    finally:
        lock.release()
    if result.total or result.failures:
        log.info("sweeper at %s: %s%s", now.isoformat(), result.counts,
                 f" failed {result.failed}" if result.failed else "")
    return result


def start_in_app(app) -> None:
    """Run the sweeper every minute inside this process (APScheduler), when enabled.  Every process of a
    deployment may run it: each tick, the one that gets the advisory lock sweeps and the others skip."""
    from apscheduler.schedulers.background import BackgroundScheduler

    def tick():
        with app.app_context():
            try:
                sweep()
            except Exception:  # noqa: BLE001 — a failed pass is logged and retried next minute
                log.exception("deadline sweeper pass failed")
            finally:
                db.session.remove()

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(tick, "interval", seconds=int(app.config.get("SWEEP_SECONDS", 60)), id="deadline-sweeper",
                      max_instances=1, coalesce=True, next_run_time=clock.now())
    scheduler.start()
    app.extensions["deadline_scheduler"] = scheduler
