"""The organisation tree: 交易中心 → 交易站 (镇/街道) → 交易点 (村/社区).

The tree is data: another county, or a province of many counties, is a new tree, not new code.
``path`` is a materialised path ("/1/4/17/") so "everything under this unit" is one indexed
prefix comparison; scope checks (a station sees its own town) use it.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db


class OrgKind(StrEnum):
    CENTER = "center"
    STATION = "station"
    POINT = "point"
    # a financial institution the center works with (银行, 农商行, 担保公司; 抵押登记与融资, DESIGN §3.13): under the
    # center, outside the three tiers — its staff see only their own institution's mortgages
    INSTITUTION = "lender"  # (the column is String(10))


ORG_KIND_LABELS = {
    OrgKind.CENTER: "交易中心",
    OrgKind.STATION: "交易站",
    OrgKind.POINT: "交易点",
    OrgKind.INSTITUTION: "金融机构",
}

# what kind of financial institution (``OrgUnit.institution_type``)
INSTITUTION_TYPES = {"bank": "商业银行", "rural_bank": "农村商业银行（农村信用社）", "guarantee": "融资担保公司"}

# Which kind of unit may sit under which.
PARENT_KIND = {
    OrgKind.CENTER: {None, OrgKind.CENTER},
    OrgKind.STATION: {OrgKind.CENTER},
    OrgKind.POINT: {OrgKind.STATION},
    OrgKind.INSTITUTION: {OrgKind.CENTER},
}


class OrgUnit(db.Model):
    __tablename__ = "org_unit"
    __table_args__ = (
        CheckConstraint("kind IN ('center', 'station', 'point', 'lender')", name="kind"),
        CheckConstraint("(kind = 'lender') = (institution_type IS NOT NULL)", name="institution_type"),
        CheckConstraint("kind = 'center' OR parent_id IS NOT NULL", name="parent_required"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(60))
    # the locality's own name, e.g. "长安街道" or "团湖村"; name is the unit's full name
    area_name: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(20), unique=True)
    division_code: Mapped[str | None] = mapped_column(String(12))  # 行政区划代码 where known
    address: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    institution_type: Mapped[str | None] = mapped_column(String(12))  # INSTITUTION_TYPES; institutions only
    uscc: Mapped[str | None] = mapped_column(String(18))               # an institution's 统一社会信用代码
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str] = mapped_column(String(200), index=True, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    parent: Mapped[OrgUnit | None] = relationship(remote_side="OrgUnit.id", back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent",
                                                   order_by="(OrgUnit.sort_order, OrgUnit.id)")

    @property
    def kind_label(self) -> str:
        return ORG_KIND_LABELS[OrgKind(self.kind)]

    @property
    def station(self) -> OrgUnit | None:
        """The 交易站 this unit belongs to (itself for a station)."""
        if self.kind == OrgKind.STATION:
            return self
        if self.kind == OrgKind.POINT:
            return self.parent
        return None

    def contains(self, other: OrgUnit) -> bool:
        """True when ``other`` is this unit or lies under it."""
        return bool(self.path) and other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.name}>"
