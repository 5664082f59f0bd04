"""终结 (Termination, 第二十四条): decided by the center on one of the article's five grounds, with the
approving document; the listing ends and every deposit is put up for refund."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import Money, UTCDateTime
from exchange.incidents.states import DefaultState, DisputeState, ForceMajeureState, OfferState, SuspensionState
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
DEFAULT_PARTIES = {"buyer": "受让方（买受人）", "seller": "转让方", "both": "转让方和受让方"}
DEFAULT_STATES = DefaultState.labels()
OFFER_STATES = OfferState.labels()


class DefaultCase(DefaultState.mixin(), db.Model):
    """违约: the winner did not sign (第十六条) or pay (第十七条) in time; the deposit is forfeited as announced, then
    the center offers the deal to the next-highest bidder at their last price, or relists."""

    __tablename__ = "default_case"
    __table_args__ = (
        CheckConstraint("stage IN ('contract', 'settlement')", name="stage"),
        CheckConstraint("party IN ('buyer', 'seller', 'both')", name="party"),
        CheckConstraint(DefaultState.check(), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), unique=True)  # the defaulted deal
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"))  # the defaulting winner
    stage: Mapped[str] = mapped_column(String(10))
    # who is in default (第二十二条): the party that did not sign, or the buyer that did not pay
    party: Mapped[str] = mapped_column(String(10), default="buyer", server_default="buyer")
    state: Mapped[str] = mapped_column(String(10), default=DefaultState.OPEN.value)
    reason: Mapped[str] = mapped_column(Text)
    forfeited: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    forfeit_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    declared_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    new_deal_id: Mapped[int | None] = mapped_column(ForeignKey("deal.id"))  # the runner-up's deal, if accepted
    relisting_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("dispute.id"))  # the damages claim (第二十七条)
    version: Mapped[int] = mapped_column(Integer, default=1)

    listing: Mapped[Listing] = relationship(foreign_keys=[listing_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def stage_label(self) -> str:
        return DEFAULT_STAGES[self.stage]

    @property
    def party_label(self) -> str:
        return DEFAULT_PARTIES[self.party]

    @property
    def buyer_in_default(self) -> bool:
        return self.party in ("buyer", "both")


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


DISPUTE_SIDES = {"transferor": "转让方", "buyer": "受让方"}
_ACTIVE_DISPUTE_SQL = "state IN ('applied', 'open')"


class Dispute(DisputeState.mixin(), db.Model):
    """纠纷调解记录: a dispute over a trade brought to the center for mediation (第二十七条): parties, claims,
    sessions held, outcome (agreement, or the parties told of arbitration / the court).  A party (the transferor's
    own account, or the buyer of a deal) may apply online (``applicant_user_id``): the record waits in ``applied``
    until the center accepts it into mediation or declines it with a reason; one application in hand per party and
    listing."""

    __tablename__ = "dispute"
    __table_args__ = (
        CheckConstraint(DisputeState.check(), name="state"),
        CheckConstraint("applicant_side IN ('', 'transferor', 'buyer')", name="applicant_side"),
        Index("uq_dispute_active_application", "listing_id", "applicant_user_id", unique=True,
              sqlite_where=text(_ACTIVE_DISPUTE_SQL), postgresql_where=text(_ACTIVE_DISPUTE_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=DisputeState.APPLIED.value)
    applicant: Mapped[str] = mapped_column(String(100))  # who applied (name / organisation)
    respondent: Mapped[str] = mapped_column(String(100))
    parties: Mapped[str] = mapped_column(Text, default="")  # others involved
    claims: Mapped[str] = mapped_column(Text)  # what the applicant asks for and why (online: what it is about)
    # applied online by a party (第二十七条): its account and side, what it asks, its evidence (sniffed, optional)
    applicant_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    applicant_side: Mapped[str] = mapped_column(String(10), default="", server_default="")
    requests: Mapped[str] = mapped_column(Text, default="", server_default="")
    evidence_key: Mapped[str | None] = mapped_column(String(64))
    evidence_filename: Mapped[str] = mapped_column(String(120), default="", server_default="")
    evidence_content_type: Mapped[str] = mapped_column(String(40), default="", server_default="")
    evidence_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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

    @property
    def applicant_side_label(self) -> str:
        return DISPUTE_SIDES.get(self.applicant_side, "")

    @property
    def applied_online(self) -> bool:
        return self.applicant_user_id is not None


# ---- 禁止行为 (第二十五条) -----------------------------------------------------------------------------------------

CONDUCT_GROUNDS = {
    "order": "操纵交易现场或者扰乱交易秩序",
    "fairness": "有损于转让方、受让方进行公平交易",
    "law": "有关法律、法规、规章禁止的其他行为",
}
CONDUCT_ITEMS = {"order": "（一）", "fairness": "（二）", "law": "（三）"}
CONDUCT_SIDES = {"buyer": "意向受让方（竞买人）", "transferor": "转让方"}
# what became of "取消其在本项目的报名资格" when the decision asked for it
VOID_OUTCOMES = {
    "voided": "已取消其在本项目的报名资格",
    "deal_buyer": "其已是本项目成交的买受人：成交不在此撤销，请按第二十二条（违约）或第二十四条（终结交易）处理",
    "after_deal": "项目已不在公告期或组织交易阶段（已成交、流拍、中止或终结），报名资格不再取消",
    "not_live": "其报名已不在有效状态（资格未通过、视为放弃或已取消），无需取消",
    "transferor": "转让方没有报名可取消：需要停止本项目交易的，请按第二十三条中止或第二十四条终结交易",
}


class ConductFinding(db.Model):
    """禁止行为认定: the center's finding that a participant of a listing — a buyer (its registration) or the
    transferor — committed an act 第二十五条 prohibits, on one of its three items, with the facts and the evidence
    (uploaded, sniffed); optionally prompted by a supervision warning.  Its consequences as decided: the
    registration in the listing voided (only before a deal; a deposit held goes back through the normal refund)
    and a ban from registering for new listings (``ban_id``, kept by the registrations)."""

    __tablename__ = "conduct_finding"
    __table_args__ = (
        CheckConstraint("ground IN ('order', 'fairness', 'law')", name="ground"),
        CheckConstraint("side IN ('buyer', 'transferor')", name="side"),
        CheckConstraint("ban_days >= 0 AND ban_days <= 3650", name="ban_days"),
        CheckConstraint("void_outcome IN ('', 'voided', 'deal_buyer', 'after_deal', 'not_live', 'transferor')",
                        name="void_outcome"),
        CheckConstraint("side = 'transferor' OR registration_id IS NOT NULL", name="buyer_registration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_alert.id"), index=True)
    side: Mapped[str] = mapped_column(String(10))
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)  # the participant
    subject_name: Mapped[str] = mapped_column(String(100))
    subject_ident: Mapped[str] = mapped_column(String(18), default="")  # 身份证号 / 统一社会信用代码
    ground: Mapped[str] = mapped_column(String(10))
    facts: Mapped[str] = mapped_column(Text)
    evidence_key: Mapped[str] = mapped_column(String(64))
    evidence_filename: Mapped[str] = mapped_column(String(120))
    evidence_content_type: Mapped[str] = mapped_column(String(40))
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    void_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    void_outcome: Mapped[str] = mapped_column(String(12), default="")
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))  # the deposit put up for refund
    ban_days: Mapped[int] = mapped_column(Integer, default=0)
    ban_id: Mapped[int | None] = mapped_column(ForeignKey("registration_ban.id"))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    listing: Mapped[Listing] = relationship()

    @property
    def ground_label(self) -> str:
        return CONDUCT_GROUNDS[self.ground]

    @property
    def ground_item(self) -> str:
        """第二十五条（一）操纵交易现场或者扰乱交易秩序"""
        return f"第二十五条{CONDUCT_ITEMS[self.ground]}{CONDUCT_GROUNDS[self.ground]}"

    @property
    def ground_no(self) -> str:
        return CONDUCT_ITEMS[self.ground]

    @property
    def side_label(self) -> str:
        return CONDUCT_SIDES[self.side]

    @property
    def void_outcome_label(self) -> str:
        return VOID_OUTCOMES.get(self.void_outcome, "")

    @property
    def voided(self) -> bool:
        return self.void_outcome == "voided"


# ---- 不可抗力 (第二十二条) ------------------------------------------------------------------------------------------

FORCE_MAJEURE_SIDES = {"seller": "转让方", "buyer": "受让方"}


class ForceMajeureClaim(ForceMajeureState.mixin(), db.Model):
    """A party's claim that 不可抗力 kept it from signing (or the buyer from paying) in time, with its evidence; the
    center decides: accepted — no liability, the clock extended by the decided 工作日 (or the center terminates,
    第二十四条); rejected — the default may be declared."""

    __tablename__ = "force_majeure_claim"
    __table_args__ = (
        CheckConstraint(ForceMajeureState.check(), name="state"),
        CheckConstraint("side IN ('seller', 'buyer')", name="side"),
        CheckConstraint("stage IN ('contract', 'settlement')", name="stage"),
        Index("uq_force_majeure_pending_deal", "deal_id", unique=True, sqlite_where=text("state = 'pending'"),
              postgresql_where=text("state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    side: Mapped[str] = mapped_column(String(10))
    stage: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default=ForceMajeureState.PENDING.value)
    facts: Mapped[str] = mapped_column(Text)  # what happened, when, and why it kept the party from acting
    document_key: Mapped[str] = mapped_column(String(64))  # the evidence (证明材料)
    document_filename: Mapped[str] = mapped_column(String(120))
    document_content_type: Mapped[str] = mapped_column(String(40))
    document_sha256: Mapped[str] = mapped_column(String(64))
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decision: Mapped[str] = mapped_column(Text, default="")
    extend_days: Mapped[int] = mapped_column(Integer, default=0)  # 工作日 added to the clock when accepted
    due_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    listing: Mapped[Listing] = relationship()

    @property
    def side_label(self) -> str:
        return FORCE_MAJEURE_SIDES[self.side]
