"""终结 (Termination, 第二十四条): decided by the center on one of the article's five grounds, with the
approving document; the listing ends and every deposit is put up for refund."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import Money, UTCDateTime
from exchange.incidents.states import DefaultState, DisputeState, OfferState, SuspensionState
from exchange.extensions import db
from exchange.listings.models import Listing

TERMINATION_GROUNDS = {
    "authority": "相关行政主管部门提出终结交易",
    "party": "转让方或与产权有直接关系的第三方书面申请终结，并经相关行政主管部门批准",
    "court": "人民法院依法发出终止交易书面通知",
    "center": "交易中心认为有必要，并经相关行政主管部门或机构同意",
    "other": "其他依法应当终结产权交易的情形",
}


class Termination(db.Model):
    __tablename__ = "termination"
    __table_args__ = (
        CheckConstraint("ground IN ('authority', 'party', 'court', 'center', 'other')", name="ground"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), unique=True)
    ground: Mapped[str] = mapped_column(String(10))
    basis: Mapped[str] = mapped_column(Text)  # the approving document: issuer, number, content
    from_state: Mapped[str] = mapped_column(String(20))
    document_key: Mapped[str] = mapped_column(String(64))
    document_filename: Mapped[str] = mapped_column(String(120))
    document_content_type: Mapped[str] = mapped_column(String(40))
    document_sha256: Mapped[str] = mapped_column(String(64))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    refunds_opened: Mapped[int] = mapped_column(Integer, default=0)

    listing: Mapped[Listing] = relationship()

    @property
    def ground_label(self) -> str:
        return TERMINATION_GROUNDS[self.ground]


# ---- 中止 (第二十三条) -------------------------------------------------------------------------------------------

SUSPENSION_GROUNDS = {
    "authority": "相关行政主管部门提出中止交易",
    "party": "转让方或与产权有直接关系的第三方提出正当理由，并经相关行政主管部门批准",
    "title_dispute": "产权存在权属争议",
    "center": "交易中心认为有必要，并经相关行政主管部门或机构同意",
    "other": "其他依法应当中止交易的情形",
}
SUSPENSION_STATES = SuspensionState.labels()
_OPEN_SQL = f"state IN ({', '.join(repr(m.value) for m in SuspensionState if m in SuspensionState.OPEN)})"


class Suspension(SuspensionState.mixin(), db.Model):
    """中止: every running clock of the listing frozen (``frozen``: what was left of each), until restart (重启)
    gives the remaining time back, or termination ends the listing."""

    __tablename__ = "suspension"
    __table_args__ = (
        CheckConstraint("ground IN ('authority', 'party', 'title_dispute', 'center', 'other', 'objection')",
                        name="ground"),
        CheckConstraint(SuspensionState.check(), name="state"),
        Index("uq_suspension_open_listing", "listing_id", unique=True,
              sqlite_where=text(_OPEN_SQL), postgresql_where=text(_OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=SuspensionState.ACTIVE.value)
    ground: Mapped[str] = mapped_column(String(15))
    basis: Mapped[str] = mapped_column(Text)
    from_state: Mapped[str] = mapped_column(String(20))
    document_key: Mapped[str | None] = mapped_column(String(64))
    document_filename: Mapped[str] = mapped_column(String(120), default="")
    document_content_type: Mapped[str] = mapped_column(String(40), default="")
    document_sha256: Mapped[str] = mapped_column(String(64), default="")
    frozen: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the clocks and what was left of each
    suspended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    suspended_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # 重启: applied for by a party (or the center on its behalf), decided by the center
    restart_reason: Mapped[str] = mapped_column(Text, default="")
    restart_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    restart_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restart_decision: Mapped[str] = mapped_column(Text, default="")
    restarted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    restarted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    listing: Mapped[Listing] = relationship()

    @property
    def ground_label(self) -> str:
        return SUSPENSION_GROUNDS.get(self.ground, "交易公示期间异议成立")


# ---- 违约 (第二十二条) and the offer to the runner-up ------------------------------------------------------------

DEFAULT_STAGES = {"contract": "逾期未签订合同", "settlement": "逾期未交清价款"}
DEFAULT_STATES = DefaultState.labels()
OFFER_STATES = OfferState.labels()


class DefaultCase(DefaultState.mixin(), db.Model):
    """违约: the winner did not sign (第十六条) or pay (第十七条) in time; the deposit is forfeited as announced, then
    the center offers the deal to the next-highest bidder at their last price, or relists."""

    __tablename__ = "default_case"
    __table_args__ = (
        CheckConstraint("stage IN ('contract', 'settlement')", name="stage"),
        CheckConstraint(DefaultState.check(), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), unique=True)  # the defaulted deal
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"))  # the defaulting winner
    stage: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default=DefaultState.OPEN.value)
    reason: Mapped[str] = mapped_column(Text)
    forfeited: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    forfeit_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    declared_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    new_deal_id: Mapped[int | None] = mapped_column(ForeignKey("deal.id"))  # the runner-up's deal, if accepted
    relisting_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    listing: Mapped[Listing] = relationship(foreign_keys=[listing_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def stage_label(self) -> str:
        return DEFAULT_STAGES[self.stage]


class RunnerUpOffer(OfferState.mixin(), db.Model):
    """要约: the deal offered to a next-highest bidder at their own last price, to accept by a 工作日 deadline."""

    __tablename__ = "runner_up_offer"
    __table_args__ = (
        CheckConstraint(OfferState.check(), name="state"),
        CheckConstraint("price > 0", name="price_positive"),
        Index("uq_offer_pending_case", "case_id", unique=True, sqlite_where=text("state = 'pending'"),
              postgresql_where=text("state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("default_case.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"))
    price: Mapped[Decimal] = mapped_column(Money)  # the runner-up's own last bid
    state: Mapped[str] = mapped_column(String(10), default=OfferState.PENDING.value)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    offered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_note: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[DefaultCase] = relationship()


# ---- 纠纷调解 (第二十七条) -----------------------------------------------------------------------------------------

DISPUTE_STATES = DisputeState.labels()


class Dispute(DisputeState.mixin(), db.Model):
    """纠纷调解记录: a dispute over a trade brought to the center for mediation (第二十七条): parties, claims,
    sessions held, outcome (agreement, or the parties told of arbitration / the court)."""

    __tablename__ = "dispute"
    __table_args__ = (
        CheckConstraint(DisputeState.check(), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=DisputeState.OPEN.value)
    applicant: Mapped[str] = mapped_column(String(100))  # who applied (name / organisation)
    respondent: Mapped[str] = mapped_column(String(100))
    parties: Mapped[str] = mapped_column(Text, default="")  # others involved
    claims: Mapped[str] = mapped_column(Text)  # what the applicant asks for and why
    mediation: Mapped[str] = mapped_column(Text, default="")  # sessions held, positions (appended notes)
    outcome: Mapped[str] = mapped_column(Text, default="")  # the agreement, or why it failed + advice given
    document_key: Mapped[str | None] = mapped_column(String(64))  # 调解协议书 / 记录 scan
    document_filename: Mapped[str] = mapped_column(String(120), default="")
    document_content_type: Mapped[str] = mapped_column(String(40), default="")
    document_sha256: Mapped[str] = mapped_column(String(64), default="")
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    listing: Mapped[Listing] = relationship()
