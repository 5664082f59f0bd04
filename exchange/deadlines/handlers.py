"""Per-item sweeper handlers (DESIGN §4.5).

A handler is two functions:

* ``due(now)`` — the ids of the items whose stored due timestamp has passed and that still need acting on
  (a plain read; nothing is locked);
* ``act(item_id, now)`` — act on one item inside the sweeper's transaction for that item: first take the
  item's lock (:func:`lock_row`: the row lock on PostgreSQL, the database write lock on SQLite), re-read it,
  re-check that it is still due, then act and return True — or return False when someone (a user, another
  sweeper, an earlier pass) got there first.  The sweeper commits after each item.

The state-changing handlers here do per item exactly what the services' bulk sweeper functions do
(``registrations.services.abandon_unpaid``, ``trading.services.close_announcements`` /
``close_due_sessions`` / ``end_publicity``), which stay for other callers.  The overdue flags live in
:mod:`exchange.deadlines.overdue`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, TypeVar

from sqlalchemy import func, select, text

from exchange.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class ItemHandler:
    """What is due (ids) and how to act on one of them (True: acted)."""

    due: Callable[[datetime], list[int]]
    act: Callable[[int, datetime], bool]
    label: str = ""


def take_write_lock() -> None:
    """On SQLite open the write transaction (and take the database's write lock) before reading, so what is
    read next is what the last writer committed and cannot change before this transaction commits."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE audit_head SET id = id WHERE 1 = 0"))


def lock_row(model: type[T], item_id: int) -> T | None:
    """The row, locked for this transaction and read afresh (None when it is gone)."""
    if db.session.get_bind().dialect.name == "sqlite":
        take_write_lock()
        return db.session.get(model, item_id, populate_existing=True)
    return db.session.get(model, item_id, populate_existing=True, with_for_update=True)


# --- 第十九条(一): deposits unpaid at the deadline → 视为放弃 ------------------------------------------

def _unpaid_due(now: datetime) -> list[int]:
    from exchange.registrations.models import Registration
    return list(db.session.scalars(select(Registration.id).where(Registration.state == "qualified",
                                                                 Registration.deposit_deadline_at <= now)
                                   .order_by(Registration.deposit_deadline_at, Registration.id)))


def _abandon(reg_id: int, now: datetime) -> bool:
    from exchange.audit.services import record
    from exchange.registrations.models import Registration
    reg = lock_row(Registration, reg_id)
    if reg is None or reg.state != "qualified" or reg.deposit_deadline_at is None or reg.deposit_deadline_at > now:
        return False
    reg.state = "abandoned"
    record("registration.abandoned", f"逾期未交保证金，视为放弃：{reg.buyer.display_name}（{reg.payment_ref}）",
           obj_type="registration", obj_id=reg.id)
    db.session.flush()
    return True


# --- 公告期 over → 组织交易 or 流拍 ---------------------------------------------------------------------

def _announcements_due(now: datetime) -> list[int]:
    from exchange.listings.models import Listing
    return list(db.session.scalars(select(Listing.id).where(Listing.state == "announced",
                                                            Listing.announce_end_at <= now,
                                                            Listing.deposit_deadline_at <= now)
                                   .order_by(Listing.announce_end_at, Listing.id)))


def _close_announcement(listing_id: int, now: datetime) -> bool:
    from exchange.listings.models import Listing
    from exchange.listings.workflow import fire
    from exchange.trading.services import paid_registrations
    listing = lock_row(Listing, listing_id)
    if (listing is None or listing.state != "announced" or listing.announce_end_at is None
            or listing.announce_end_at > now or listing.deposit_deadline_at is None
            or listing.deposit_deadline_at > now):
        return False
    paid = paid_registrations(listing)
    if not paid:
        fire(listing, "fail", None, reason="公告期满，无合格且已交纳保证金的意向受让方")
    else:
        fire(listing, "start_trading", None,
             data={"paid_buyers": len(paid), "way": "agreement" if len(paid) == 1 else "competitive"})
    return True


# --- bidding sessions past their end → the deal or 流拍 ---------------------------------------------------

def _sessions_due(now: datetime) -> list[int]:
    from exchange.trading.models import BiddingSession
    return list(db.session.scalars(select(BiddingSession.id).where(BiddingSession.state == "scheduled",
                                                                   BiddingSession.ends_at <= now)
                                   .order_by(BiddingSession.ends_at, BiddingSession.id)))


def _close_session(session_id: int, now: datetime) -> bool:
    from exchange.trading.models import BiddingSession
    from exchange.trading.services import close_session
    session = lock_row(BiddingSession, session_id)
    if session is None or session.state != "scheduled" or session.ends_at > now:
        return False
    close_session(session_id, now)  # locks the same row again (same transaction) and re-checks
    return True


# --- 交易公示 over, no objection pending → 签约 --------------------------------------------------------

def _publicity_due(now: datetime) -> list[int]:
    from exchange.trading.models import Deal, Objection
    pending = select(Objection.id).where(Objection.deal_id == Deal.id, Objection.state == "pending").exists()
    return list(db.session.scalars(select(Deal.id).where(Deal.state == "publicity", Deal.publicity_end_at <= now,
                                                         ~pending)
                                   .order_by(Deal.publicity_end_at, Deal.id)))


def _end_publicity(deal_id: int, now: datetime) -> bool:
    from exchange.contracts.services import open_contract
    from exchange.listings.workflow import fire
    from exchange.trading.models import Deal, Objection
    deal = lock_row(Deal, deal_id)
    if deal is None or deal.state != "publicity" or deal.publicity_end_at > now:
        return False
    pending = db.session.scalar(select(func.count(Objection.id)).where(Objection.deal_id == deal.id,
                                                                       Objection.state == "pending"))
    if pending:
        return False  # the center decides first
    deal.state = "confirmed"
    fire(deal.listing, "publicity_end", None, data={"deal": deal.deal_no})
    open_contract(deal)  # 签约 (第十六条): the draft from the standard template, due in 5 工作日
    return True


ABANDON_UNPAID = ItemHandler(_unpaid_due, _abandon, "逾期未交保证金，视为放弃")
CLOSE_ANNOUNCEMENTS = ItemHandler(_announcements_due, _close_announcement, "公告期满，组织交易或流拍")
CLOSE_SESSIONS = ItemHandler(_sessions_due, _close_session, "竞价结束")
END_PUBLICITY = ItemHandler(_publicity_due, _end_publicity, "交易公示期满，转入签约")
