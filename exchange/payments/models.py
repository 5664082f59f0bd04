"""Payment orders and provider notifications, imported bank statements and their lines, and the
record of how each deposit arrived (DESIGN §3.5: three ways in, one ledger entry)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import Money, UTCDateTime
from exchange.extensions import db
from exchange.payments.states import LineState, OrderState
from exchange.registrations.models import Registration

ORDER_STATES = OrderState.labels()


class PaymentOrder(OrderState.mixin(), db.Model):
    """One attempt to pay a deposit online through a provider (支付订单)."""

    __tablename__ = "payment_order"
    __table_args__ = (
        CheckConstraint(OrderState.check(), name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("provider", "provider_txn_id", name="uq_payment_order_provider_txn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)  # ours, random
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"), index=True)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement.id"), index=True)  # a price balance
    provider: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(10), default=OrderState.CREATED.value, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    provider_txn_id: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the provider says the money arrived
    outcome: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    registration: Mapped[Registration] = relationship()


class PaymentNotification(db.Model):
    """Every callback a provider sent, accepted or not (kept for reconciliation and forensics).

    A notification whose signature verified has its nonce stored; the unique (provider, nonce) pair
    makes a replayed notification fail at the database even when two copies arrive at once."""

    __tablename__ = "payment_notification"
    __table_args__ = (UniqueConstraint("provider", "nonce", name="uq_payment_notification_provider_nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    nonce: Mapped[str | None] = mapped_column(String(64))  # only for verified notifications
    signature_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(20))  # booked / duplicate / suspense / refused
    message: Mapped[str] = mapped_column(String(300), default="")
    order_no: Mapped[str] = mapped_column(String(32), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    remote_addr: Mapped[str] = mapped_column(String(45), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


class RefusedCallbacks(db.Model):
    """Callbacks that could not be the provider's (unknown provider, no signature, a wrong one), counted per provider,
    reason and day — never stored one row per request, so a flood of forgeries cannot fill the database.  Each one
    is also written to the application log (logger ``exchange.payments``)."""

    __tablename__ = "payment_callback_refusal"
    __table_args__ = (UniqueConstraint("provider", "reason", "day", name="uq_payment_callback_refusal_day"),
                      CheckConstraint("count >= 0", name="count"))

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(20))  # unknown_provider / unsigned / bad_signature
    day: Mapped[date] = mapped_column(Date)  # Beijing date
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_addr: Mapped[str] = mapped_column(String(45), default="")


class BankStatement(db.Model):
    """An imported statement of the designated account (银行流水, CSV or XLSX)."""

    __tablename__ = "bank_statement"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the same file is imported once
    storage_key: Mapped[str] = mapped_column(String(64))
    file_format: Mapped[str] = mapped_column(String(4))  # csv / xlsx
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    lines: Mapped[list[StatementLine]] = relationship(back_populates="statement", order_by="StatementLine.line_no")


# How a line compares with what was expected; decided by the matcher, shown to finance.
MATCHES = {
    "matched": "与缴款码一致",
    "partial": "金额不足",
    "excess": "金额超出",
    "late": "逾期到账",
    "duplicate": "重复流水",
    "already_paid": "该缴款码已到账",
    "not_payable": "报名当前不能交款",
    "unknown": "无法识别缴款码",
    "outgoing": "支出（非进账）",
}
LINE_STATES = LineState.labels()


class StatementLine(LineState.mixin(), db.Model):
    __tablename__ = "statement_line"
    __table_args__ = (
        CheckConstraint(LineState.check(), name="state"),
        UniqueConstraint("statement_id", "line_no", name="uq_statement_line_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statement.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    bank_txn_id: Mapped[str] = mapped_column(String(64), index=True)  # 银行流水号
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal] = mapped_column(Money)  # > 0 in, < 0 out
    payer_name: Mapped[str] = mapped_column(String(120), default="")
    payer_account: Mapped[str] = mapped_column(String(40), default="")
    memo: Mapped[str] = mapped_column(String(200), default="")  # 附言 / 用途
    payment_ref: Mapped[str | None] = mapped_column(String(20))  # the 缴款码 found in the memo
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"), index=True)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement.id"), index=True)  # a price balance
    match: Mapped[str] = mapped_column(String(14))
    match_note: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(10), default=LineState.OPEN.value, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(300), default="")
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    statement: Mapped[BankStatement] = relationship(back_populates="lines")
    registration: Mapped[Registration | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def match_label(self) -> str:
        return MATCHES[self.match]


ARRIVAL_SOURCES = {"online": "网上支付", "receipt": "银行回单", "statement": "银行流水导入"}


class DepositArrival(db.Model):
    """How a registration's deposit reached the account: the evidence behind its ledger entry."""

    __tablename__ = "deposit_arrival"
    __table_args__ = (CheckConstraint("source IN ('online', 'receipt', 'statement')", name="source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), unique=True)
    source: Mapped[str] = mapped_column(String(10))
    source_ref: Mapped[str] = mapped_column(String(100))  # bank serial / provider transaction
    amount: Mapped[Decimal] = mapped_column(Money)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    receipt_key: Mapped[str | None] = mapped_column(String(64))
    receipt_filename: Mapped[str] = mapped_column(String(120), default="")
    receipt_content_type: Mapped[str] = mapped_column(String(40), default="")
    receipt_sha256: Mapped[str] = mapped_column(String(64), default="")
    statement_line_id: Mapped[int | None] = mapped_column(ForeignKey("statement_line.id"))
    payment_order_id: Mapped[int | None] = mapped_column(ForeignKey("payment_order.id"))
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    registration: Mapped[Registration] = relationship()

    @property
    def source_label(self) -> str:
        return ARRIVAL_SOURCES[self.source]


class CenterAccount(db.Model):
    """The 交易中心's receiving account (指定账户 at the bank: 户名, 开户行, 账号), shown with the 缴款码 on every page,
    notice and PDF that asks someone to pay.  One row per 交易中心 org unit (a province of many counties has one
    center, and one account, per county); set and changed by the center's admin, every change audited.  No row: the
    pages say plainly that the account has not been published yet."""

    __tablename__ = "center_account"
    __table_args__ = (
        CheckConstraint("account_name <> '' AND bank_name <> '' AND account_no <> ''", name="complete"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), unique=True)
    account_name: Mapped[str] = mapped_column(String(100))  # 户名
    bank_name: Mapped[str] = mapped_column(String(100))     # 开户行
    account_no: Mapped[str] = mapped_column(String(40))     # 账号 (digits, kept without blanks)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    @property
    def account_no_display(self) -> str:
        """``6222021234567890123`` → ``6222 0212 3456 7890 123``: groups of four, as printed on bank cards and slips."""
        digits = self.account_no
        return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))
