"""Bidding sessions and bids (网络竞价, 一次性报价), deals (成交), offline results and objections (异议).

A ``BiddingSession`` row is the single point of serialisation of a live session: accepting a bid locks
it, re-reads the current price and the clock, appends the ``Bid`` with the next sequence number and
moves the price, the leader and the countdown — one transaction, so two equal bids can never both be
accepted and no accepted bid is lost.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import Money, UTCDateTime
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.registrations.models import Registration
from exchange.trading.states import DealState, ObjectionState, SessionState

METHOD_LABELS = {"agreement": "协议转让", "online_bidding": "网络竞价", "sealed_bid": "一次性报价",
                 "auction": "拍卖", "tender": "招投标", "procurement": "招标采购（网上开标）"}
SESSION_STATES = SessionState.labels()


class BiddingSession(SessionState.mixin(), db.Model):
    __tablename__ = "bidding_session"
    __table_args__ = (
        CheckConstraint("method IN ('online_bidding', 'sealed_bid')", name="method"),
        CheckConstraint(SessionState.check(), name="state"),
        CheckConstraint("start_price > 0", name="start_price_positive"),
        CheckConstraint("increment IS NULL OR increment > 0", name="increment_positive"),
        CheckConstraint("max_steps >= 1", name="max_steps"),
        CheckConstraint("countdown_seconds BETWEEN 10 AND 3600", name="countdown"),
        CheckConstraint("seq >= 0", name="seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default=SessionState.SCHEDULED.value, index=True)
    start_price: Mapped[Decimal] = mapped_column(Money)
    increment: Mapped[Decimal | None] = mapped_column(Money)  # 加价幅度 (online bidding)
    max_steps: Mapped[int] = mapped_column(Integer, default=10)  # a bid may raise by at most this many increments
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 自由报价期 opens (sealed: bids open)
    free_end_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 限时报价期 starts (sealed: bids close)
    countdown_seconds: Mapped[int] = mapped_column(Integer, default=300)
    hard_end_at: Mapped[datetime] = mapped_column(UTCDateTime)  # cap on every extension (sealed: opening time)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # the current end (moves with bids)
    current_price: Mapped[Decimal | None] = mapped_column(Money)
    leader_registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"))
    leader_priority: Mapped[bool] = mapped_column(Boolean, default=False)  # leads by matching (优先权)
    seq: Mapped[int] = mapped_column(Integer, default=0)  # accepted bids so far
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(300), default="")
    scheduled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    listing: Mapped[Listing] = relationship()
    leader: Mapped[Registration | None] = relationship(foreign_keys=[leader_registration_id])


class Bid(db.Model):
    """An accepted bid (online) or a sealed offer.  Only accepted bids are stored: refusals change nothing."""

    __tablename__ = "bid"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_bid_session_seq"),
        UniqueConstraint("session_id", "registration_id", "idempotency_key", name="uq_bid_idempotency"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("bidding_session.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)
    priority_match: Mapped[bool] = mapped_column(Boolean, default=False)  # 优先权人 matching the highest price
    idempotency_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ip: Mapped[str] = mapped_column(String(45), default="")

    registration: Mapped[Registration] = relationship()


DEAL_STATES = DealState.labels()
# the deal stands (DealState.LIVE), in the enum's order: the public pages, the open data and the statistics
LIVE_DEAL_STATES = tuple(m.value for m in DealState if m in DealState.LIVE)
_LIVE_SQL = f"state IN ({', '.join(repr(s) for s in LIVE_DEAL_STATES)})"


class Deal(DealState.mixin(), db.Model):
    """成交: the concluded trade (winner, price, method), with its 交易公示 and the clocks that follow."""

    __tablename__ = "deal"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("method IN ('agreement', 'online_bidding', 'sealed_bid', 'auction', 'tender', 'procurement')",
                        name="method"),
        CheckConstraint(DealState.check(), name="state"),
        # one live deal per listing; a defaulted or voided one stays beside the runner-up's
        Index("uq_deal_live_listing", "listing_id", unique=True,
              sqlite_where=text(_LIVE_SQL), postgresql_where=text(_LIVE_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_no: Mapped[str] = mapped_column(String(30), unique=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(Money)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("bidding_session.id"))
    concluded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    state: Mapped[str] = mapped_column(String(10), default=DealState.PUBLICITY.value, index=True)
    publicity_end_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    contract_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 第十六条: 5 工作日
    offline_date: Mapped[str] = mapped_column(String(10), default="")  # auction / tender held on
    offline_note: Mapped[str] = mapped_column(Text, default="")
    document_key: Mapped[str | None] = mapped_column(String(64))  # offline result's document
    document_filename: Mapped[str] = mapped_column(String(120), default="")
    document_content_type: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    listing: Mapped[Listing] = relationship()
    registration: Mapped[Registration] = relationship()
    session: Mapped[BiddingSession | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def method_label(self) -> str:
        return METHOD_LABELS[self.method]


OBJECTION_STATES = ObjectionState.labels()


class Objection(ObjectionState.mixin(), db.Model):
    """异议 filed by anyone during 交易公示, decided by the center."""

    __tablename__ = "objection"
    __table_args__ = (CheckConstraint(ObjectionState.check(), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    contact: Mapped[str] = mapped_column(String(60))
    content: Mapped[str] = mapped_column(Text)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ip: Mapped[str] = mapped_column(String(45), default="")
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    state: Mapped[str] = mapped_column(String(10), default=ObjectionState.PENDING.value, index=True)
    decision: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    deal: Mapped[Deal] = relationship()
