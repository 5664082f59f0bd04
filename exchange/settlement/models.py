"""The fee table (统一收费标准), settlements (结算) and payouts (划付)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import Money, UTCDateTime
from exchange.extensions import db
from exchange.ledger.models import TransferColumns
from exchange.listings.models import Listing
from exchange.settlement.states import PayoutState, SettlementState
from exchange.trading.models import Deal

FEE_PAYERS = {"buyer": "受让方", "seller": "转让方", "both": "双方各半"}


class FeeRule(db.Model):
    """One row of the fee table: per category (or the default row, category NULL)."""

    __tablename__ = "fee_rule"
    __table_args__ = (
        CheckConstraint("basis IN ('rate', 'fixed')", name="basis"),
        CheckConstraint("payer IN ('buyer', 'seller', 'both')", name="payer"),
        CheckConstraint("rate IS NULL OR (rate >= 0 AND rate < 1)", name="rate_range"),
        CheckConstraint("fixed_amount IS NULL OR fixed_amount >= 0", name="fixed_nonnegative"),
        CheckConstraint("min_fee IS NULL OR min_fee >= 0", name="min_nonnegative"),
        CheckConstraint("max_fee IS NULL OR min_fee IS NULL OR max_fee >= min_fee", name="min_max"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), unique=True)  # NULL: default
    basis: Mapped[str] = mapped_column(String(10), default="rate")
    rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 5))  # 0.01000 = 1 %
    fixed_amount: Mapped[Decimal | None] = mapped_column(Money)
    min_fee: Mapped[Decimal | None] = mapped_column(Money)
    max_fee: Mapped[Decimal | None] = mapped_column(Money)
    payer: Mapped[str] = mapped_column(String(10), default="buyer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


SETTLEMENT_STATES = SettlementState.labels()


class Settlement(SettlementState.mixin(), db.Model):
    """结算: within 10 days of signing the buyer pays price − converted deposit (+ its fee); fees are
    charged and the proceeds paid out (the payout needs a second finance approver)."""

    __tablename__ = "settlement"
    __table_args__ = (
        CheckConstraint(SettlementState.check(), name="state"),
        CheckConstraint("balance_due >= 0 AND buyer_fee >= 0 AND seller_fee >= 0", name="amounts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), unique=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=SettlementState.AWAITING.value, index=True)
    price: Mapped[Decimal] = mapped_column(Money)
    deposit_converted: Mapped[Decimal] = mapped_column(Money)
    balance_due: Mapped[Decimal] = mapped_column(Money)  # price − deposit (the buyer's fee is added to what it pays)
    buyer_fee: Mapped[Decimal] = mapped_column(Money)
    seller_fee: Mapped[Decimal] = mapped_column(Money)
    payment_ref: Mapped[str] = mapped_column(String(20), unique=True)  # 缴款码 of the balance (JS…)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # 第十七条: 10 days after signing
    certificate_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # 第十八条: 3 工作日
    # how the balance arrived (one exact payment, like a deposit)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(10), default="")  # online / receipt / statement
    source_ref: Mapped[str] = mapped_column(String(100), default="")  # bank serial / provider transaction
    # (a statement line or payment order that paid it points here through its settlement_id)
    receipt_key: Mapped[str | None] = mapped_column(String(64))
    receipt_filename: Mapped[str] = mapped_column(String(120), default="")
    receipt_content_type: Mapped[str] = mapped_column(String(40), default="")
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    deal: Mapped[Deal] = relationship()
    listing: Mapped[Listing] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def amount_to_pay(self) -> Decimal:
        """What arrives on the 缴款码: the price's balance and the buyer's fee; for a procurement (the price paid
        between the parties, DESIGN §3.12) the service fee only — both parties' shares, as the fee table splits it."""
        if self.listing is not None and self.listing.is_procurement:
            return self.buyer_fee + self.seller_fee
        return self.balance_due + self.buyer_fee


class Payout(PayoutState.mixin(), TransferColumns, db.Model):
    """划付: proceeds to the transferor's account (第二十一条), recorded by one finance user, approved by another —
    the four-eyes transfer of :mod:`exchange.ledger.transfers`, whose columns it shares with the refund."""

    __tablename__ = "payout"
    __table_args__ = (
        CheckConstraint(PayoutState.check(), name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        TransferColumns.four_eyes(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlement.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    payee_name: Mapped[str] = mapped_column(String(100))
    payee_bank: Mapped[str] = mapped_column(String(100), default="")
    payee_account: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(10), default=PayoutState.PENDING.value, index=True)
    # (the transfer's columns, from TransferColumns, come here)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, sort_order=1)
    version: Mapped[int] = mapped_column(Integer, default=1, sort_order=1)

    settlement: Mapped[Settlement] = relationship()

    __mapper_args__ = {"version_id_col": version}
