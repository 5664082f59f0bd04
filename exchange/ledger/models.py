"""Double-entry bookkeeping of the center's 指定账户 (DESIGN §3.5, 第十九条, 第二十一条).

The designated bank account is the asset account ``BANK``; every yuan in it is owed to someone and sits
on a liability account: a buyer's deposit on a listing, the price held for a listing's transferor, the
center's fees, forfeited deposits.  A ``JournalEntry`` is one movement; its ``JournalLine`` amounts are
signed (debit +, credit −) and sum to zero.  Balances are sums of lines, never stored counters.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock, labels
from exchange.db import Money, UTCDateTime
from exchange.extensions import db
from exchange.ledger.states import RefundState

# suspense: money that reached the account but could not be booked as what it claims to be (an unknown
# payer, a wrong amount, a late deposit); it is held there until returned to the payer.
ACCOUNT_KINDS = ("bank", "deposit", "price", "fee", "forfeit", "suspense")

# what people read (exchange.labels): the accounts' kinds (an account's code is named by its kind: DEP-… → 保证金)
# and the journal entries' kinds
ACCOUNT_KIND_LABELS = {"bank": "银行存款", "deposit": "保证金", "price": "待划付价款", "fee": "服务费",
                       "forfeit": "没收保证金", "suspense": "挂账待退"}
ENTRY_KIND_LABELS = {"deposit_in": "保证金到账", "refund": "退还保证金", "convert": "保证金转价款",
                     "forfeit": "没收保证金", "price_in": "价款到账", "fee": "收取服务费", "payout": "划付转让方",
                     "suspense_in": "挂账", "return": "退回付款人", "excess": "保证金超出成交价部分挂账待退",
                     "fee_return": "退回服务费", "terminated": "交易终结，已收价款挂账待退"}
labels.register("account", ACCOUNT_KIND_LABELS)
labels.register("entry", ENTRY_KIND_LABELS)


class LedgerAccount(db.Model):
    __tablename__ = "ledger_account"
    __table_args__ = (CheckConstraint("kind IN ('bank', 'deposit', 'price', 'fee', 'forfeit', 'suspense')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    party_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class JournalEntry(db.Model):
    __tablename__ = "journal_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)  # deposit_in, refund, convert, forfeit, …
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    memo: Mapped[str] = mapped_column(String(300), default="")
    # the same external event (bank line, payment callback) can never be booked twice
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    lines: Mapped[list[JournalLine]] = relationship(back_populates="entry", order_by="JournalLine.id",
                                                    cascade="all, delete-orphan")


class JournalLine(db.Model):
    __tablename__ = "journal_line"
    __table_args__ = (CheckConstraint("amount <> 0", name="nonzero"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)  # debit > 0, credit < 0

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
    account: Mapped[LedgerAccount] = relationship()


class TransferColumns:
    """The columns of a four-eyes bank transfer (:mod:`exchange.ledger.transfers`), the same in every table that
    holds one (the refund here, the payout in settlement): the bank's 回单号, who recorded it and when, who approved
    it and when, and the journal entry the approval posted.  They come after the model's own columns (a model's
    ``created_at`` and ``version`` carry ``sort_order=1`` to stay last, as the migrations created them)."""

    bank_ref: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))

    @staticmethod
    def four_eyes() -> CheckConstraint:
        """The database's half of the four eyes: the approver is never the maker (one per table)."""
        return CheckConstraint("approved_by_id IS NULL OR approved_by_id <> recorded_by_id", name="four_eyes")


class Refund(RefundState.mixin(), TransferColumns, db.Model):
    """Money to be returned without interest within 5 工作日 (第十九条(二)), recorded by one finance
    user and approved by another (maker-checker) before the ledger entry is posted.

    It empties one liability account: a buyer's deposit account (``registration_id`` set) or a suspense
    account holding money that could not be booked (returned to the payer named in ``payee``)."""

    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint(RefundState.check(), name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        TransferColumns.four_eyes(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), unique=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"), unique=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    # a procurement's 投标保证金 goes back with the bank's deposit interest for the period it was held (招标投标法实施条例
    # 第五十七条): paid with the refund, from the center's own funds — the deposit ledger moves ``amount`` only
    interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    payee: Mapped[str] = mapped_column(String(200), default="")  # who gets the money back (name, account)
    # lost / abandoned / rejected / terminated / late / unmatched / forfeit / disqualified / other
    reason: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default=RefundState.PENDING.value, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # (the transfer's columns, from TransferColumns, come here)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, sort_order=1)
    version: Mapped[int] = mapped_column(Integer, default=1, sort_order=1)

    account: Mapped[LedgerAccount] = relationship()

    __mapper_args__ = {"version_id_col": version}
