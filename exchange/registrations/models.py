"""意向受让登记 (Registration): a buyer's application to an announced listing, its qualification
(第十三条), the deposit (保证金, 第十九条) with its payment reference, and the 竞买号 for the trade."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.accounts.models import User
from exchange.db import Money, UTCDateTime
from exchange.extensions import db
from exchange.listings.models import Listing

from exchange.registrations.states import RegState  # noqa: E402

REG_STATE_LABELS = RegState.labels()


class Registration(RegState.mixin(), db.Model):
    __tablename__ = "registration"
    __table_args__ = (
        UniqueConstraint("listing_id", "buyer_id", name="uq_registration_listing_buyer"),
        UniqueConstraint("listing_id", "bidder_no", name="uq_registration_listing_bidder_no"),
        CheckConstraint(RegState.check(), name="state"),
        CheckConstraint("offer IS NULL OR offer > 0", name="offer_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default=RegState.APPLIED.value, index=True)
    offer: Mapped[Decimal | None] = mapped_column(Money)  # 意向报价 (协议转让)
    by_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_name: Mapped[str] = mapped_column(String(60), default="")
    agent_id_no: Mapped[str] = mapped_column(String(18), default="")
    joint: Mapped[bool] = mapped_column(Boolean, default=False)
    joint_members: Mapped[str] = mapped_column(Text, default="")
    declaration_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 声明与保证 accepted
    flags: Mapped[str] = mapped_column(String(200), default="")  # for the reviewer: 工商资本租赁农地 …
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str] = mapped_column(String(500), default="")
    payment_ref: Mapped[str | None] = mapped_column(String(20), unique=True)  # 缴款码
    deposit_amount: Mapped[Decimal | None] = mapped_column(Money)
    deposit_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bidder_no: Mapped[str | None] = mapped_column(String(8))  # 竞买号, random, given when the deposit arrives
    # 优先权 (同等条件优先): a collective member or the original lessee, recognised at qualification
    priority_right: Mapped[bool] = mapped_column(Boolean, default=False)
    priority_basis: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    listing: Mapped[Listing] = relationship()
    buyer: Mapped[User] = relationship(foreign_keys=[buyer_id])

    __mapper_args__ = {"version_id_col": version}


class RegistrationMaterial(db.Model):
    """A buyer's 第十三条 material attached to a registration."""

    __tablename__ = "registration_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(120))
    storage_key: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    registration: Mapped[Registration] = relationship(back_populates="materials")


Registration.materials = relationship(RegistrationMaterial, back_populates="registration",
                                      order_by=RegistrationMaterial.id, cascade="all, delete-orphan")
