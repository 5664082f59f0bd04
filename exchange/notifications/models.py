"""站内通知 and what was sent on each channel (email, SMS), so every person can see what reached them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db
from exchange.notifications.states import DeliveryStatus


class Notification(db.Model):
    """One message to one account (in-app), with its deliveries on the other channels."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_unread", "user_id", "read_at"),
        # one reminder per thing: e.g. "deposit.due:reg:12" — unique per user, so a sweeper pass never sends twice
        Index("uq_notification_dedupe", "user_id", "dedupe_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # e.g. listing.published, deposit.due
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")  # a path inside the platform
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    deliveries: Mapped[list["Delivery"]] = relationship(back_populates="notification", order_by="Delivery.id")


class Delivery(DeliveryStatus.mixin("status"), db.Model):
    """What one channel did with a notification: the masked address it went to and the outcome."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel"),
        CheckConstraint(DeliveryStatus.check("status"), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    channel: Mapped[str] = mapped_column(String(5))
    address: Mapped[str] = mapped_column(String(120), default="")  # masked: 138****5678, z***@example.com
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(300), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notification: Mapped[Notification] = relationship(back_populates="deliveries")
