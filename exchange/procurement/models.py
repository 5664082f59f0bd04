"""The center's 专家库 (issue 18 item 4): the experts an evaluation panel (评标委员会) is drawn from.

Personal data kept to what the draw and the notice need: the name, a mobile number (the expert is told of the draw),
the employer (工作单位) and title (职称) — no identity number.  Each expert has one or more specialties from
:data:`SPECIALTIES` (a row each in ``expert_specialty``: "who is of this specialty" is one indexed equality on both
databases) and the ties that keep them off a panel: villages (交易点 org units: lives there, works there, kin in
the village committee) and parties (a company or person who might bid), each with the reason.  An expert is
deactivated, never deleted: a panel drawn earlier still names them.
"""
from __future__ import annotations

from datetime import datetime

import json
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.accounts.models import Party, User
from exchange.db import Money, UTCDateTime
from exchange.extensions import db
from exchange.labels import register
from exchange.listings.models import Listing
from exchange.orgs.models import OrgUnit
from exchange.procurement.states import BidState, ProcState
from exchange.registrations.models import Registration

# The specialties of the pool, in the order the pages list them: code → name.  One list; a project's evaluation
# names one of these codes.
SPECIALTIES: dict[str, str] = {
    "roads_water": "道路与水利工程",
    "buildings": "房屋建筑",
    "agriculture": "农业技术",
    "forestry": "林业",
    "machinery": "农机设备",
    "cost": "财务与造价",
    "law": "法律",
    "other": "其他",
}
register("specialty", SPECIALTIES)


class Expert(db.Model):
    __tablename__ = "expert"
    __table_args__ = (UniqueConstraint("name", "mobile"),)  # one person, one entry

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
    mobile: Mapped[str] = mapped_column(String(11))
    employer: Mapped[str] = mapped_column(String(100))            # 工作单位
    title: Mapped[str] = mapped_column(String(40), default="")    # 职称
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    specialty_rows: Mapped[list[ExpertSpecialty]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertSpecialty.specialty")
    village_ties: Mapped[list[ExpertVillageTie]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertVillageTie.id")
    party_ties: Mapped[list[ExpertPartyTie]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertPartyTie.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def specialties(self) -> list[str]:
        """The expert's specialty codes, in the order of :data:`SPECIALTIES`."""
        mine = {row.specialty for row in self.specialty_rows}
        return [code for code in SPECIALTIES if code in mine]

    @property
    def specialty_labels(self) -> list[str]:
        return [SPECIALTIES[code] for code in self.specialties]

    def __repr__(self) -> str:
        return f"<Expert {self.id} {self.name}>"


class ExpertSpecialty(db.Model):
    __tablename__ = "expert_specialty"

    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), primary_key=True)
    specialty: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)

    expert: Mapped[Expert] = relationship(back_populates="specialty_rows")

    @property
    def label(self) -> str:
        return SPECIALTIES.get(self.specialty, self.specialty)


class ExpertVillageTie(db.Model):
    """The expert is tied to a village (交易点): never on the panel of that village's project."""

    __tablename__ = "expert_village_tie"
    __table_args__ = (UniqueConstraint("expert_id", "org_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    expert: Mapped[Expert] = relationship(back_populates="village_ties")
    org_unit: Mapped[OrgUnit] = relationship()


class ExpertPartyTie(db.Model):
    """The expert is tied to a party (a company or person): never on a panel where that party bids."""

    __tablename__ = "expert_party_tie"
    __table_args__ = (UniqueConstraint("expert_id", "party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    expert: Mapped[Expert] = relationship(back_populates="party_ties")
    party: Mapped[Party] = relationship()


# --- procurement projects (招标 / 采购 / 招商) -------------------------------------------------------------------------

KINDS = {"works": "工程", "goods": "货物", "services": "服务"}
EVAL_KINDS = {"lowest_price": "最低价法", "scored": "综合评分法"}
DIRECTIONS = {"lower": "报价低者优", "higher": "报价高者优"}
register("procurement_kind", KINDS)
register("evaluation_kind", EVAL_KINDS)


class ProcurementProject(ProcState.mixin(), db.Model):
    """The terms of a procurement project (招标/采购/招商; DESIGN §3.12): one per listing of 交易品种 8 whose method is
    招标, 采购 or 招商.  The listing keeps what every project has (title, village, the collective as the party, its
    四议两公开 decision, materials, review, publication, the bond as ``deposit_amount``); this row keeps what a tender
    adds.  Everything the announcement publishes — the budget, the limit, the evaluation method with its criteria and
    weights — is fixed once the project is published (the service refuses to change it; the announcement PDF prints it).

    The bids' secrecy: ``public_key`` seals bids (:mod:`exchange.procurement.vault`); ``wrapped_key`` is the private
    key wrapped under the vault key outside the database, bound to the project number and ``opens_at``;
    ``opened_key`` is the private key *published* at the 开标 (NULL before: a CHECK keeps it so)."""

    __tablename__ = "procurement_project"
    __table_args__ = (
        CheckConstraint(ProcState.check(), name="state"),
        CheckConstraint("kind IN ('', 'works', 'goods', 'services')", name="kind"),
        CheckConstraint("eval_kind IN ('lowest_price', 'scored')", name="eval_kind"),
        CheckConstraint("direction IN ('lower', 'higher')", name="direction"),
        CheckConstraint("budget IS NULL OR budget > 0", name="budget_positive"),
        CheckConstraint("limit_price IS NULL OR limit_price > 0", name="limit_positive"),
        CheckConstraint("price_weight >= 0 AND price_weight <= 100", name="price_weight"),
        CheckConstraint("panel_size IN (3, 5, 7, 9)", name="panel_size"),
        # the private key is public from the opening on, never before
        CheckConstraint("opened_key IS NULL OR opened_at IS NOT NULL", name="key_after_opening"),
        CheckConstraint("state NOT IN ('opened', 'evaluated', 'awarded') OR opened_key IS NOT NULL",
                        name="opened_has_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), unique=True)
    state: Mapped[str] = mapped_column(String(12), default=ProcState.BIDDING.value, index=True)
    kind: Mapped[str] = mapped_column(String(10), default="")              # 工程/货物/服务 ('' for 招商)
    budget: Mapped[Decimal | None] = mapped_column(Money)                  # 预算金额 (招商: 预计投资额, optional)
    limit_price: Mapped[Decimal | None] = mapped_column(Money)             # 最高限价 (招商: 最低价)
    eval_kind: Mapped[str] = mapped_column(String(14), default="lowest_price")
    direction: Mapped[str] = mapped_column(String(6), default="lower")     # follows the method: 招商 higher
    price_weight: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    criteria_json: Mapped[str] = mapped_column(Text, default="[]")         # [{"key", "name", "weight"}]
    trim_extremes: Mapped[bool] = mapped_column(Boolean, default=False)
    specialty: Mapped[str] = mapped_column(String(20), default="")        # the panel's specialty (专家库)
    panel_size: Mapped[int] = mapped_column(Integer, default=3)
    scope: Mapped[str] = mapped_column(Text, default="")                   # 采购内容 / 工程概况
    requirements: Mapped[str] = mapped_column(Text, default="")            # 投标人资格要求
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # 投标截止暨开标时间
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    opened_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the ranking as the evaluation left it (JSON: ranked bids with their scores, invalid bids with the reason)
    outcome_json: Mapped[str] = mapped_column(Text, default="")
    # the winner as the collective confirmed it after the 公示 (normally candidate 1; another needs a reason and
    # the center's approval) and the 中标通知书
    winner_registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"))
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    award_reason: Mapped[str] = mapped_column(Text, default="")
    award_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    notice_no: Mapped[str | None] = mapped_column(String(30), unique=True)  # 中标通知书编号
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    listing: Mapped[Listing] = relationship()
    winner: Mapped[Registration | None] = relationship(foreign_keys=[winner_registration_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def mode(self) -> str:
        """招标, 采购 or 招商: the listing's method."""
        return self.listing.method.name if self.listing and self.listing.method else ""

    @property
    def buying(self) -> bool:
        return self.direction == "lower"

    @property
    def limit_label(self) -> str:
        return "最高限价" if self.buying else "最低价"

    @property
    def criteria(self) -> list[dict]:
        return json.loads(self.criteria_json or "[]")

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, "")

    @property
    def eval_label(self) -> str:
        return EVAL_KINDS[self.eval_kind]


class ProcurementBid(BidState.mixin(), db.Model):
    """A supplier's sealed bid (投标文件).  Until the 开标 the row holds only the sealed bytes and the receipt: a
    CHECK keeps ``price`` and ``document`` empty while the bid is sealed, so no code path can store them early.  A
    withdrawn bid stays (its receipt is no longer the supplier's bid); one standing bid per registration."""

    __tablename__ = "procurement_bid"
    __table_args__ = (
        CheckConstraint(BidState.check(), name="state"),
        CheckConstraint("state = 'opened' OR (price IS NULL AND document IS NULL)", name="sealed_unread"),
        CheckConstraint("price IS NULL OR price > 0", name="price_positive"),
        Index("uq_procurement_bid_standing", "registration_id", unique=True,
              sqlite_where=text("state IN ('sealed', 'opened')"),
              postgresql_where=text("state IN ('sealed', 'opened')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=BidState.SEALED.value, index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    receipt: Mapped[str] = mapped_column(String(64))                     # SHA-256 of the bid document
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    price: Mapped[Decimal | None] = mapped_column(Money)                  # from the opening on
    document: Mapped[str | None] = mapped_column(Text)                    # the opened bid document (its bytes, UTF-8)
    invalid_reason: Mapped[str] = mapped_column(Text, default="")          # 否决投标: why (the center or the panel)
    invalid_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    invalid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    listing: Mapped[Listing] = relationship()
    registration: Mapped[Registration] = relationship()
    supplier: Mapped[User] = relationship(foreign_keys=[supplier_id])
    files: Mapped[list[ProcurementBidFile]] = relationship(back_populates="bid", order_by="ProcurementBidFile.seq",
                                                           cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def opened_document(self) -> dict:
        return json.loads(self.document) if self.document else {}


class ProcurementBidFile(db.Model):
    """A document attached to a bid (技术方案、资质证明 …), sealed like the bid: the stored bytes are the sealed file,
    its name, type and SHA-256 are inside the sealed bid document and written here only at the opening."""

    __tablename__ = "procurement_bid_file"
    __table_args__ = (UniqueConstraint("bid_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("procurement_bid.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    sealed_key: Mapped[str] = mapped_column(String(64))                  # storage key of the sealed bytes
    open_key: Mapped[str | None] = mapped_column(String(64))              # storage key of the opened file
    filename: Mapped[str | None] = mapped_column(String(120))
    content_type: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))

    bid: Mapped[ProcurementBid] = relationship(back_populates="files")


# --- the evaluation panel (评标委员会) and its score sheets (综合评分法) ---------------------------------------------------

class ProcurementPanel(db.Model):
    """The panel drawn for a project (one per project): the draw as recorded — specialty, size, the eligible experts
    in id order, the excluded with why, and the seed — so that anyone can repeat it
    (:func:`exchange.procurement.panel.redo`)."""

    __tablename__ = "procurement_panel"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), unique=True)
    specialty: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(64))
    eligible_json: Mapped[str] = mapped_column(Text)                     # [expert id, …] in id order
    excluded_json: Mapped[str] = mapped_column(Text, default="{}")        # {expert id: why}
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    listing: Mapped[Listing] = relationship()
    members: Mapped[list[PanelMember]] = relationship(back_populates="panel", order_by="PanelMember.seq",
                                                      cascade="all, delete-orphan")

    @property
    def eligible(self) -> list[int]:
        return json.loads(self.eligible_json)

    @property
    def excluded(self) -> dict[int, str]:
        return {int(k): v for k, v in json.loads(self.excluded_json or "{}").items()}


class PanelMember(db.Model):
    """One expert on a panel.  The expert scores on a phone: the link on the slip handed over at the evaluation
    (its token, kept here as a SHA-256) opens the sheet with the member's password (kept as a password hash); the
    password signs the sheet, after which it is locked and its digest kept.  Five wrong passwords lock the member
    out until the center gives a new one."""

    __tablename__ = "procurement_panel_member"
    __table_args__ = (UniqueConstraint("panel_id", "expert_id"), UniqueConstraint("panel_id", "seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("procurement_panel.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)                              # the order drawn: 评委 1, 2, 3 …
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    failed: Mapped[int] = mapped_column(Integer, default=0)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sheet_digest: Mapped[str | None] = mapped_column(String(64))           # SHA-256 of the signed sheet
    version: Mapped[int] = mapped_column(Integer, default=1)

    panel: Mapped[ProcurementPanel] = relationship(back_populates="members")
    expert: Mapped[Expert] = relationship()
    scores: Mapped[list[PanelScore]] = relationship(back_populates="member", cascade="all, delete-orphan",
                                                    order_by="PanelScore.id")

    __mapper_args__ = {"version_id_col": version}


class PanelScore(db.Model):
    """A member's score of one bid on one criterion (0 … the criterion's weight)."""

    __tablename__ = "procurement_score"
    __table_args__ = (UniqueConstraint("member_id", "bid_id", "criterion"),
                      CheckConstraint("score >= 0 AND score <= 100", name="score_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("procurement_panel_member.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("procurement_bid.id"), index=True)
    criterion: Mapped[str] = mapped_column(String(10))
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2))

    member: Mapped[PanelMember] = relationship(back_populates="scores")
