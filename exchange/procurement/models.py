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

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.accounts.models import Party
from exchange.db import UTCDateTime
from exchange.extensions import db
from exchange.labels import register
from exchange.orgs.models import OrgUnit

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
