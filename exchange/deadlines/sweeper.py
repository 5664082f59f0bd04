"""The deadline sweeper (DESIGN §4.5).

Each handler looks up what is due from stored due timestamps (never from in-memory timers) and acts
idempotently, so a pass can be repeated, interrupted or run by two processes at once.  One pass runs the
handlers in one transaction; on PostgreSQL it first takes a transaction-level advisory lock, so of several
app processes (gunicorn workers on several machines) only one sweeps at a time and the others skip that
tick; on SQLite the database's single writer lock serialises them.

Correctness never waits for a tick: services compare with the clock when they act (a deposit arriving
after its deadline is refused at the moment it is booked); the sweeper makes the consequences visible
(视为放弃, refunds overdue …) without anyone having to look.

Handlers so far: deposits unpaid at their deadline → 视为放弃 (第十九条(一)); announcements over → 组织交易 or
流拍; bidding sessions past their end → the deal or 流拍; 交易公示 over → 签约.  Later clocks (contract,
settlement, certificate) add theirs to ``HANDLERS``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import text

from exchange import clock
from exchange.extensions import db

log = logging.getLogger(__name__)
ADVISORY_KEY = 0x4C58_5357  # "LXSW"


def _abandon_unpaid(now: datetime) -> int:
    from exchange.registrations.services import abandon_unpaid
    return abandon_unpaid(now)


def _close_announcements(now: datetime) -> int:
    from exchange.trading.services import close_announcements
    return close_announcements(now)


def _close_sessions(now: datetime) -> int:
    from exchange.trading.services import close_due_sessions
    return close_due_sessions(now)


def _end_publicity(now: datetime) -> int:
    from exchange.trading.services import end_publicity
    return end_publicity(now)


# name → handler(now) returning how many things it acted on; run in this order
HANDLERS: dict[str, Callable[[datetime], int]] = {
    "deposits.abandon_unpaid": _abandon_unpaid,
    "listings.close_announcements": _close_announcements,
    "trading.close_sessions": _close_sessions,
    "trading.end_publicity": _end_publicity,
}


@dataclass
class SweepResult:
    ran: bool
    at: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _try_lock() -> bool:
    if db.session.get_bind().dialect.name == "sqlite":
        # take SQLite's write lock before reading: a second sweeper waits, then reads what the first wrote
        db.session.execute(text("UPDATE audit_head SET id = id WHERE 1 = 0"))
        return True
    return bool(db.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY}).scalar())


def sweep(now: datetime | None = None) -> SweepResult:
    """One pass over every handler; commits.  Skips (ran=False) while another process is sweeping."""
    from exchange.audit.services import acting_as
    now = now or clock.now()
    if not _try_lock():
        db.session.rollback()
        return SweepResult(False, now)
    result = SweepResult(True, now)
    try:
        with acting_as("定时任务"):
            for name, handler in HANDLERS.items():
                result.counts[name] = handler(now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if result.total:
        log.info("sweeper at %s: %s", now.isoformat(), result.counts)
    return result


def start_in_app(app) -> None:
    """Run the sweeper every minute inside this process (APScheduler), when enabled."""
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
