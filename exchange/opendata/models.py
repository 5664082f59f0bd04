"""The open-data changes feed and the read tokens of government data consumers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db


class OpenDataChange(db.Model):
    """A public listing (its announcement or its result) changed.

    ``seq`` is the audit trail's sequence number of the change: the audit head row is locked from the moment a
    transaction claims its number until it commits, so numbers become visible in order and a consumer reading
    ``seq > cursor`` never skips a change that commits later with a smaller number."""

    __tablename__ = "open_data_change"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # the transition or change, e.g. center_approve, conclude
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DataToken(db.Model):
    """A read token of a government data consumer (e.g. the city's data platform): higher rate limits on the open
    endpoints.  Only the SHA-256 is stored; the token is shown once when created."""

    __tablename__ = "data_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))  # e.g. 临湘市政务数据共享平台
    consumer: Mapped[str] = mapped_column(String(120))  # the organisation
    contact: Mapped[str] = mapped_column(String(120), default="")
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    per_minute: Mapped[int] = mapped_column(Integer, default=600)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def is_usable(self) -> bool:
        now = clock.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
