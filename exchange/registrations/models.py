"""意向受让登记 (Registration): a buyer's application to an announced listing, its qualification
(第十三条), the deposit (保证金, 第十九条) with its payment reference, and the 竞买号 for the trade."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.accounts.models import FOREIGN_KIND_LABELS, FOREIGN_KINDS, User
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
        CheckConstraint("foreign_kind IN ('', 'domestic', 'foreign_enterprise', 'foreign_person', 'foreign_org')",
                        name="foreign_kind"),
        # 实施方案 二(四)3: a declared foreign investor is never qualified without the reviewer's recorded check
        CheckConstraint("foreign_kind NOT IN ('foreign_enterprise', 'foreign_person', 'foreign_org') "
                        "OR state NOT IN ('qualified', 'paid', 'abandoned') OR foreign_checked_at IS NOT NULL",
                        name="foreign_checked"),
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
    # 外资企业 / 境外投资者 as declared for this application (FOREIGN_KIND_LABELS; '' an application from before the
    # question), and the reviewer's record that the 审批/备案 documents were checked
    foreign_kind: Mapped[str] = mapped_column(String(20), default="", server_default="")
    foreign_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    foreign_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    foreign_check_note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    listing: Mapped[Listing] = relationship()
    buyer: Mapped[User] = relationship(foreign_keys=[buyer_id])
    foreign_checked_by: Mapped[User | None] = relationship(foreign_keys=[foreign_checked_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_foreign(self) -> bool:
        """Declared a 外资企业 or 境外投资者: flagged to the reviewer, its 审批/备案 documents checked before 资格确认."""
        return self.foreign_kind in FOREIGN_KINDS

    @property
    def foreign_kind_label(self) -> str:
        return FOREIGN_KIND_LABELS.get(self.foreign_kind, "未声明")


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


class RegistrationBan(db.Model):
    """禁止报名: a participant the center found to have committed a prohibited act (第二十五条) may not apply for a
    new listing from ``starts_at`` until ``ends_at``.  Kept here, where :func:`exchange.registrations.services.apply`
    reads it; the finding itself (ground, facts, evidence) is the incidents' ``conduct_finding`` that points here.
    Held by account and by identity number (身份证号 / 统一社会信用代码), so a new account of the same party is barred
    as well — and a transferor without an account of their own, once they open one."""

    __tablename__ = "registration_ban"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="period"),
        CheckConstraint("user_id IS NOT NULL OR ident <> ''", name="who"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    ident: Mapped[str] = mapped_column(String(18), default="", index=True)  # 身份证号 / 统一社会信用代码 (upper case)
    name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300))  # shown to them when they apply
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # exclusive: local midnight after the last day
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def last_day(self):
        """The last local (Asia/Shanghai) day of the ban, inclusive."""
        from datetime import timedelta
        return clock.to_local(self.ends_at - timedelta(microseconds=1)).date()
