"""Sending: the sweeper sends each pending e-mail and SMS after the notification was committed, one per item
transaction, trying ``MAX_ATTEMPTS`` times.  See :mod:`exchange.notifications.services`."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from exchange import clock
from exchange.accounts.models import User
from exchange.db import lock_row
from exchange.extensions import db
from exchange.notifications.models import Delivery, Notification
from exchange.notifications.states import DELIVERY

from exchange.notifications.services import address_of, masked

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
DELIVER_BATCH = 500  # deliveries per sweeper pass (the rest next minute)


# --- delivery (sweeper, after commit) ---------------------------------------------------------------

def pending_delivery_ids(now: datetime) -> list[int]:
    return list(db.session.scalars(select(Delivery.id).where(Delivery.status == "pending")
                                   .order_by(Delivery.id).limit(DELIVER_BATCH)))


def _email_text(n: Notification) -> tuple[str, str]:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    body = n.body or n.title
    if n.link:
        body += f"\n\n详情请登录平台查看：{base}{n.link}"
    body += "\n\n——临湘市农村产权流转交易平台（本邮件由系统自动发送，请勿直接回复）"
    return f"【临湘农村产权交易】{n.title}", body


def _sms_text(n: Notification) -> str:
    return f"【临湘农村产权交易】{n.title}。详情请登录平台“我的通知”查看。"


def deliver(delivery_id: int, now: datetime) -> bool:
    """Send one pending delivery (locked first, so it is sent by one process only)."""
    from exchange.notifications.channels import backend_for
    d = lock_row(db.session, Delivery, delivery_id)
    if d is None or d.status != "pending":
        return False
    n = d.notification
    user = db.session.get(User, n.user_id)
    address = address_of(user, d.channel) if user is not None and user.active else None
    if address is None:
        DELIVERY.fire(d, "skip")
        d.error = "账号已停用或已无该联系方式"
        return True
    d.attempts = (d.attempts or 0) + 1
    d.address = masked(d.channel, address)
    try:
        backend = backend_for(d.channel)
        if d.channel == "email":
            subject, body = _email_text(n)
            backend.send(address, subject, body)
        else:
            backend.send(address, _sms_text(n))
    except Exception as exc:  # noqa: BLE001 — any failure of the channel: counted, recorded, retried
        d.error = f"{type(exc).__name__}: {exc}"[:300]
        if d.attempts >= MAX_ATTEMPTS:
            DELIVERY.fire(d, "fail")
        log.warning("notification delivery %s (%s) attempt %s failed: %s", d.id, d.channel, d.attempts, d.error)
        return True
    DELIVERY.fire(d, "send")
    d.sent_at, d.error = clock.now(), ""
    return True
