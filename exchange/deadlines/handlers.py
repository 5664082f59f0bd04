"""Per-item sweeper handlers (DESIGN §4.5).

A handler is two functions:

* ``due(now)`` — the ids of the items whose stored due timestamp has passed and that still need acting on
  (a plain read; nothing is locked);
* ``act(item_id, now)`` — act on one item inside the sweeper's transaction for that item: first take the
  item's lock (:func:`lock_row`: the row lock on PostgreSQL, the database write lock on SQLite), re-read it,
  re-check that it is still due, then act and return True — or return False when someone (a user, another
  sweeper, an earlier pass) got there first.  The sweeper commits after each item.

The state-changing handlers are the services' own per-item functions (``registrations.services.abandon``,
``trading.services.close_announcement`` / ``close_due_session`` / ``end_publicity_of``); the services' bulk
functions loop over the same.  The overdue flags live in :mod:`exchange.deadlines.overdue`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, TypeVar

from exchange.db import lock_row as _lock_row
from exchange.db import take_write_lock as _take_write_lock
from exchange.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class ItemHandler:
    """What is due (ids) and how to act on one of them (True: acted)."""

    due: Callable[[datetime], list[int]]
    act: Callable[[int, datetime], bool]
    label: str = ""


def take_write_lock() -> None:
    """On SQLite, take the database's write lock before reading (see :func:`exchange.db.take_write_lock`)."""
    _take_write_lock(db.session)


def lock_row(model: type[T], item_id: int) -> T | None:
    """The row, locked for this transaction and read afresh (see :func:`exchange.db.lock_row`)."""
    return _lock_row(db.session, model, item_id)


def _registrations():
    from exchange.registrations import services
    return services


def _trading():
    from exchange.trading import services
    return services


# the state-changing clocks: the services' own per-item functions (each locks and re-checks its row)
ABANDON_UNPAID = ItemHandler(lambda now: _registrations().unpaid_due_ids(now),
                             lambda rid, now: _registrations().abandon(rid, now), "逾期未交保证金，视为放弃")
CLOSE_ANNOUNCEMENTS = ItemHandler(lambda now: _trading().announcements_due_ids(now),
                                  lambda lid, now: _trading().close_announcement(lid, now), "公告期满，组织交易或流拍")
CLOSE_SESSIONS = ItemHandler(lambda now: _trading().sessions_due_ids(now),
                             lambda sid, now: _trading().close_due_session(sid, now), "竞价结束")
END_PUBLICITY = ItemHandler(lambda now: _trading().publicity_due_ids(now),
                            lambda did, now: _trading().end_publicity_of(did, now), "交易公示期满，转入签约")



def _procurement():
    from exchange.procurement import services
    return services


# 开标 at the 开标 time: the project's key published, every sealed bid opened (or 流标)
OPEN_BIDS = ItemHandler(lambda now: _procurement().opening_due_ids(now),
                        lambda pid, now: _procurement().open_project(pid, now), "招标采购开标")


# what the signal of an earlier step should have opened and did not: the pages only say it is missing, the sweeper
# opens it (idempotent; a page never writes on GET)
def _contracts():
    from exchange.contracts import services
    return services


OPEN_MISSING_CONTRACTS = ItemHandler(lambda now: _contracts().unopened_deal_ids(now),
                                     lambda did, now: _contracts().open_late(did, now), "交易公示期满，补开合同草稿")


def open_missing_settlements(now: datetime) -> int:
    """Settlements of effective contracts that their effect could not open (the fee table could not price them):
    opened once the table is corrected; a deal still refused waits for the next pass."""
    from exchange.settlement.services import open_missing
    return open_missing()
