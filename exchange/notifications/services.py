"""Notifications (站内通知 + e-mail + SMS): who is told what, when, and what was sent to them.  This module creates a
notification and reads them back; the rules, the recipients, the texts, the reminders and the delivery have a module
each.

Three sources, one outbox:

* **Events** come from the audit trail (:mod:`exchange.notifications.rules`).  The trail sends each entry it writes
  (its ``recorded`` signal) to :func:`~exchange.notifications.rules.on_audit`; ``RULES`` maps the audit actions worth
  telling someone about to their recipients, title/body templates and link (a plain dict lookup for every other
  action).  The notifications are written in the audited operation's own transaction, so an operation that is rolled
  back leaves none. Outbid is deliberately not an event (a bid writes no audit entry and the bidding room shows it
  live).
* **Reminders** (:mod:`exchange.notifications.reminders`) come from stored due timestamps, by the deadline sweeper
  (``notify.*`` handlers in :mod:`exchange.deadlines.sweeper`), each sent once per person thanks to
  ``Notification.dedupe_key``:

  - ``notify.deposit_due`` — a qualified, unpaid registration whose deposit deadline is near;
  - ``notify.bidding_starts`` — a scheduled bidding session starting within 30 minutes, to each paid bidder;
  - ``notify.contract_due`` / ``notify.settlement_due`` — the contract still unsigned (buyer, transferor, the clerk
    who handles the listing) / the price balance still unpaid (buyer);
  - ``notify.certificate_due`` — the 鉴证书 not yet issued (the center's reviewers).

  **When** (one rule for every "1 工作日 before" reminder, :func:`~exchange.notifications.reminders.remind_from`): the
  deadline's *last day* is the Beijing date of the last instant before the deadline (16:00 on the last announcement
  day for a deposit; the day before the stored midnight for 签约/结算/鉴证).  The reminder goes out from ``REMIND_HOUR``
  (08:00 Beijing, the start of office hours, never in the night) on the last working day before that last day
  (:mod:`exchange.workdays`: weekends, holidays and 调休 count as they are), until the deadline.  A deadline on Monday
  is reminded on Friday 08:00; one on 10月8日 after the National Day holiday on 9月30日 08:00.  Listings that are 中止
  (suspended) get no reminders: their clocks are frozen.
* **Delivery** (:mod:`exchange.notifications.delivery`): creating a notification adds a ``pending`` :class:`Delivery`
  per channel for which the person has an address (e-mail, mobile).  Nothing is sent in the request: the sweeper's
  ``notify.deliver`` handler sends pending deliveries after they were committed, one per item transaction, so a
  rolled-back operation never sends anything and a crash never loses a message (at worst a message whose send
  succeeded but whose commit failed is sent again).  Each try counts an attempt; after ``MAX_ATTEMPTS`` failures the
  delivery is ``failed`` with the error recorded.  Addresses are stored masked; the current address is read from the
  account when sending.

Everyone (staff of every role, the supervisor, public accounts) sees their own notifications and what was sent to
them on ``/notifications`` (and ``GET /api/v1/notifications``); nobody sees anyone else's.
"""
from __future__ import annotations

import logging
from typing import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from exchange import clock
from exchange.access import require
from exchange.accounts.models import User
from exchange.db import savepoint
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.idcheck import mask_mobile
from exchange.notifications.models import Delivery, Notification
from exchange.notifications.states import DeliveryStatus


log = logging.getLogger(__name__)

CHANNELS = ("email", "sms")
CHANNEL_LABELS = {"email": "电子邮件", "sms": "短信"}
DELIVERY_STATUS_LABELS = DeliveryStatus.labels()


class NotificationError(ServiceError):
    """A notification that cannot be acted on as asked."""


# --- addresses ------------------------------------------------------------------------------------

def mask_email(value: str | None) -> str:
    """``"zhangsan@example.com"`` → ``"z***@example.com"``."""
    value = (value or "").strip()
    local, at, domain = value.partition("@")
    if not at:
        return (value[:1] + "***") if value else ""
    return f"{local[:1]}***@{domain}"


def address_of(user: User, channel: str) -> str | None:
    value = user.email if channel == "email" else user.mobile
    value = (value or "").strip()
    return value or None


def masked(channel: str, value: str) -> str:
    return (mask_email(value) if channel == "email" else mask_mobile(value))[:120]


# --- creating ------------------------------------------------------------------------------------

def notify(user: User | int | None, kind: str, title: str, body: str = "", *, link: str = "",
           listing_id: int | None = None, dedupe_key: str | None = None,
           channels: Iterable[str] = CHANNELS) -> Notification | None:
    """One notification to one account, with a pending delivery per channel the person has an address for.

    Flushes, never commits.  With ``dedupe_key`` (reminders) a second call for the same person and key does
    nothing and returns None — checked first, and the insert runs in a savepoint so a concurrent insert of
    the same key (the unique index) is skipped too.  Inactive accounts are not notified.
    """
    if isinstance(user, int):
        user = db.session.get(User, user)
    if user is None or not user.active:
        return None
    if dedupe_key is not None and already_sent(user.id, dedupe_key):
        return None
    n = Notification(user_id=user.id, kind=kind[:40], title=title[:200], body=body, link=link[:300],
                     listing_id=listing_id, dedupe_key=dedupe_key[:120] if dedupe_key else None,
                     created_at=clock.now())
    for channel in channels:
        address = address_of(user, channel)
        if address:
            n.deliveries.append(Delivery(channel=channel, address=masked(channel, address), attempts=0, error=""))
    if dedupe_key is None:
        db.session.add(n)
        db.session.flush()
        return n
    try:
        with savepoint(db.session):
            db.session.add(n)
            db.session.flush()
    except IntegrityError:  # the same reminder inserted meanwhile by another process
        return None
    return n


def already_sent(user_id: int, dedupe_key: str) -> bool:
    return db.session.scalar(select(Notification.id).where(Notification.user_id == user_id,
                                                           Notification.dedupe_key == dedupe_key).limit(1)) is not None


# --- reading (pages, API) ---------------------------------------------------------------------------

def own_stmt(user, unread_only: bool = False):
    require(user, "work.view")
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_count(user) -> int:
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id,
                                                                       Notification.read_at.is_(None))) or 0


def get_own(user, notification_id: int) -> Notification | None:
    """The user's own notification, or None (someone else's is as good as missing)."""
    require(user, "work.view")
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        return None
    return n


def mark_read(user, n: Notification) -> Notification:
    require(user, "work.view")
    if n.user_id != user.id:
        raise NotificationError("只能处理自己的通知。")
    if n.read_at is None:
        n.read_at = clock.now()
        db.session.flush()
    return n


def mark_all_read(user) -> int:
    require(user, "work.view")
    result = db.session.execute(update(Notification).where(Notification.user_id == user.id,
                                                           Notification.read_at.is_(None))
                                .values(read_at=clock.now()).execution_options(synchronize_session=False))
    db.session.flush()
    return result.rowcount or 0


def safe_link(link: str | None) -> str | None:
    """Only paths inside the platform are followed (never another site)."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None

