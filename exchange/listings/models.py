"""挂牌项目 (Listing), its materials, its review history and the project-number counter.

A listing's ``state`` is assigned only by :mod:`exchange.listings.workflow`.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.catalog.models import Category, TransferMethod
from exchange.db import Money, UTCDateTime
from exchange.extensions import db
from exchange.orgs.models import OrgUnit

from exchange.listings.states import ListingState

STATES = tuple(ListingState)


class Listing(ListingState.mixin(), db.Model):
    __tablename__ = "listing"
    __table_args__ = (
        CheckConstraint(ListingState.check(), name="state"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("floor_price IS NULL OR floor_price > 0", name="floor_price_positive"),
        CheckConstraint("appraisal_value IS NULL OR appraisal_value > 0", name="appraisal_positive"),
        CheckConstraint("deposit_amount IS NULL OR deposit_amount >= 0", name="deposit_nonnegative"),
        CheckConstraint("reps_for IS NULL OR reps_total IS NULL OR (reps_for >= 0 AND reps_for <= reps_total)",
                        name="votes"),
        CheckConstraint("term_start IS NULL OR term_end IS NULL OR term_start < term_end", name="term_order"),
        CheckConstraint("announce_days BETWEEN 1 AND 60", name="announce_days"),
        CheckConstraint("origin IN ('point', 'direct')", name="origin"),
        CheckConstraint("obtained_by IN ('', 'household_contract', 'open_contract')", name="obtained_by"),
        # public search: every filter is combined with the state; newest first
        Index("ix_listing_state_published", "state", "published_at"),
        Index("ix_listing_state_category", "state", "category_id", "published_at"),
        Index("ix_listing_state_station", "state", "station_id", "published_at"),
        Index("ix_listing_state_end", "state", "announce_end_at"),
        Index("ix_listing_published", "published_at"),
        Index("ix_listing_state_price", "state", "floor_price"),
        Index("ix_listing_state_quantity", "state", "quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_no: Mapped[str | None] = mapped_column(String(30), unique=True)  # LXNCJY-2026-000123
    # 受理编号, given at the first submission (the 受理回执 handed to the household; the project number comes with the
    # announcement), and the key that, with it, opens the public progress page the receipt's QR code points to
    intake_no: Mapped[str | None] = mapped_column(String(30), unique=True)  # LXSL-2026-000123
    progress_key: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    origin: Mapped[str] = mapped_column(String(10), default="point")  # point: via 交易点; direct: 第十一条
    version: Mapped[int] = mapped_column(Integer, default=1)

    # what
    title: Mapped[str] = mapped_column(String(120))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    method_id: Mapped[int] = mapped_column(ForeignKey("transfer_method.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(200), index=True)  # the point's (or station's) path: scope
    location: Mapped[str] = mapped_column(String(200), default="")  # 坐落
    boundaries: Mapped[str] = mapped_column(String(300), default="")  # 四至
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    unit: Mapped[str] = mapped_column(String(10), default="亩")
    # 利用现状 (第十四条(一)): published with the announcement; required before submit (rules.problems)
    current_use: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # how the right was obtained, for 四荒 (第九条, 第十条; catalog.data.ACQUISITIONS): household_contract 家庭承包 /
    # open_contract 招标、拍卖、公开协商等; '' for the other categories
    obtained_by: Mapped[str] = mapped_column(String(20), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="")
    right_cert_no: Mapped[str] = mapped_column(String(60), default="")  # 权属证书编号
    right_end_date: Mapped[date | None] = mapped_column(Date)  # the right's own expiry (法定期限)
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)

    # price (第二十条)
    price_mode: Mapped[str] = mapped_column(String(20), default="total")  # total / per_unit_year
    floor_unit_price: Mapped[Decimal | None] = mapped_column(Money)  # 元/单位/年 when per_unit_year
    floor_price: Mapped[Decimal | None] = mapped_column(Money)  # 底价 (total)
    price_basis: Mapped[str] = mapped_column(String(300), default="")  # 作价依据
    show_floor_price: Mapped[bool] = mapped_column(Boolean, default=True)
    appraisal_value: Mapped[Decimal | None] = mapped_column(Money)
    appraisal_agency: Mapped[str] = mapped_column(String(100), default="")
    appraisal_report_no: Mapped[str] = mapped_column(String(60), default="")

    # transferor (第十二条)
    transferor_kind: Mapped[str] = mapped_column(String(20), default="household")
    transferor_name: Mapped[str] = mapped_column(String(100), default="")
    transferor_id_no: Mapped[str] = mapped_column(String(18), default="")  # 身份证号 or 统一社会信用代码
    transferor_mobile: Mapped[str] = mapped_column(String(11), default="")
    transferor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # direct applicant
    account_name: Mapped[str] = mapped_column(String(100), default="")  # 收款账户名
    account_bank: Mapped[str] = mapped_column(String(100), default="")
    account_no: Mapped[str] = mapped_column(String(40), default="")
    # the ID number / 统一社会信用代码 the account is opened under (第二十一条; blank: the transferor's own)
    account_holder_id_no: Mapped[str] = mapped_column(String(18), default="", server_default="")
    entrusted: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_name: Mapped[str] = mapped_column(String(100), default="")
    agent_id_no: Mapped[str] = mapped_column(String(18), default="")
    agent_mobile: Mapped[str] = mapped_column(String(11), default="")

    # 民主决策 for collective assets
    decision_type: Mapped[str] = mapped_column(String(40), default="")  # 村民代表会议 / 成员大会 …
    decision_date: Mapped[date | None] = mapped_column(Date)
    reps_total: Mapped[int | None] = mapped_column(Integer)
    reps_for: Mapped[int | None] = mapped_column(Integer)

    # buyers and trade
    buyer_conditions: Mapped[str] = mapped_column(Text, default="")  # 受让条件
    buyer_restriction: Mapped[str] = mapped_column(String(20), default="none")  # none / members
    restriction_note: Mapped[str] = mapped_column(String(300), default="")
    deposit_amount: Mapped[Decimal | None] = mapped_column(Money)
    announce_days: Mapped[int] = mapped_column(Integer, default=5)
    trading_method: Mapped[str] = mapped_column(String(20), default="online_bidding")
    bid_increment: Mapped[Decimal | None] = mapped_column(Money)
    relisted_from_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))  # a relisting after 流拍

    # people and times
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announce_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announce_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    deposit_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announce_assumed_years: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    category: Mapped[Category] = relationship()
    method: Mapped[TransferMethod] = relationship()
    station: Mapped[OrgUnit] = relationship(foreign_keys=[station_id])
    point: Mapped[OrgUnit | None] = relationship(foreign_keys=[point_id])
    materials: Mapped[list[ListingMaterial]] = relationship(back_populates="listing", order_by="ListingMaterial.id",
                                                            cascade="all, delete-orphan")
    events: Mapped[list[ListingEvent]] = relationship(back_populates="listing", order_by="ListingEvent.id",
                                                      cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def org(self) -> OrgUnit:
        """The unit the listing belongs to for scope checks: its village point, else its station."""
        return self.point or self.station

    @property
    def is_procurement(self) -> bool:
        """A procurement project (交易品种 8, 招标/采购/招商; exchange.procurement): the collective buys or picks an
        investor by sealed bids; its own terms are a ``procurement_project`` row."""
        return self.trading_method == "procurement"

    @property
    def is_collective(self) -> bool:
        return bool(self.category and self.category.collective) or self.transferor_kind == "collective"

    @property
    def place(self) -> str:
        """坐落 as every page and document prints it (:func:`compose_place`): the town, the village and the
        listing's own location, each once."""
        return compose_place(self.station.area_name if self.station else "",
                             self.point.area_name if self.point else "", self.location)


# a location that begins with a place of its own: 临湘市…, …镇, …乡, …街道 (then it is printed as it is) or a village
_NAMES_TOWN = re.compile(r"^[^\s，,；;]{0,12}?(省|市|县|区|镇|乡|街道)")
_NAMES_VILLAGE = re.compile(r"^[^\s，,；;]{1,12}?(村(?!民)|社区|居委会)")  # 三组 / 村民小组 are no village


def compose_place(town: str, village: str, location: str) -> str:
    """坐落: ``town`` + ``village`` + ``location``, without repeating what the location already says.

    Clerks write the location in full ("江南镇团湖村三组"), from the village ("团湖村三组") or only the group
    ("三组"); each gives "江南镇团湖村三组".  A location naming another town or county is printed as it is."""
    town, village = (town or "").strip(), (village or "").strip()
    loc = " ".join((location or "").split())
    if not loc:
        return f"{town}{village}" or "—"
    if town and loc.startswith(town):
        rest = loc[len(town):].lstrip()
        if village and not rest.startswith(village) and village not in rest and not _NAMES_VILLAGE.match(rest):
            return f"{town}{village}{rest}"
        return f"{town}{rest}"
    if village and loc.startswith(village):
        return f"{town}{loc}"
    if _NAMES_TOWN.match(loc):
        return loc
    if _NAMES_VILLAGE.match(loc):
        return f"{town}{loc}"
    return f"{town}{village}{loc}"


class ListingMaterial(db.Model):
    """An attachment of a listing (第十二条 materials, photos)."""

    __tablename__ = "listing_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(120))
    storage_key: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    listing: Mapped[Listing] = relationship(back_populates="materials")


class ListingEvent(db.Model):
    """One step of a listing's history: a transition, a review decision, an opinion."""

    __tablename__ = "listing_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(80), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[str | None] = mapped_column(Text)  # JSON: checklist, changed fields

    listing: Mapped[Listing] = relationship(back_populates="events")


class StationOpinion(db.Model):
    """第十四条: the center reviews "会同" the town's station.  A listing from a village point has the station's 初审
    (``station_pass``); any other listing in the center's review — a direct application (第十一条) — needs, for the
    submission under review, this record: the station's opinion (agree / disagree, with its reasons), or the center
    reviewer's record of why the station's opinion could not be had (``unavailable``).  One per submission; written
    once, never changed (a resubmission is a new round)."""

    __tablename__ = "station_opinion"
    __table_args__ = (
        CheckConstraint("verdict IN ('agree', 'disagree', 'unavailable')", name="verdict"),
        CheckConstraint("reasons <> ''", name="reasons"),
        UniqueConstraint("listing_id", "submission_id", name="uq_station_opinion_listing_submission"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    # the event (submit / relist_submit) that began the review round this opinion belongs to
    submission_id: Mapped[int] = mapped_column(ForeignKey("listing_event.id"))
    verdict: Mapped[str] = mapped_column(String(12))
    reasons: Mapped[str] = mapped_column(Text)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    given_by_name: Mapped[str] = mapped_column(String(80), default="")
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    listing: Mapped[Listing] = relationship()
    station: Mapped[OrgUnit] = relationship()

    @property
    def verdict_label(self) -> str:
        return OPINION_VERDICTS[self.verdict]


OPINION_VERDICTS = {"agree": "同意", "disagree": "不同意", "unavailable": "未能取得交易站意见"}


class ProjectCounter(db.Model):
    """Gap-free project numbers per year: incremented inside the publishing transaction."""

    __tablename__ = "project_counter"
    __table_args__ = (UniqueConstraint("kind", "year", name="uq_project_counter_kind_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    last_no: Mapped[int] = mapped_column(Integer, default=0)
