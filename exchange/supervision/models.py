"""监督预警: a warning found by the detector, with who acknowledged and who resolved it."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.supervision.states import AlertState

ALERT_KINDS = {
    "overdue": "法定期限逾期",
    "low_price": "成交价明显低于评估价",
    "shared_contact": "同一项目竞买人共用电话、IP 地址或银行账户",
    "repeat_winner": "同一受让方多次无竞争成交",
    "repeated_failure": "同一标的多次流拍",
}
ALERT_STATES = AlertState.labels()


class SupervisionAlert(AlertState.mixin(), db.Model):
    """One warning: ``kind`` + ``subject`` identify it (the detector finds the same thing again without a second
    row); the supervisor or the center acknowledges it, then records how it was resolved."""

    __tablename__ = "supervision_alert"
    __table_args__ = (
        UniqueConstraint("kind", "subject", name="uq_alert_kind_subject"),
        CheckConstraint(AlertState.check(), name="state"),
        CheckConstraint("severity IN ('high', 'medium', 'low')", name="severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    subject: Mapped[str] = mapped_column(String(120))  # e.g. "contract:12", "listing:5:phone:139…"
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    severity: Mapped[str] = mapped_column(String(6), default="medium")
    summary: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the facts behind it (masked)
    state: Mapped[str] = mapped_column(String(12), default=AlertState.OPEN.value, index=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_note: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(Text, default="")

    listing: Mapped[Listing | None] = relationship()

    @property
    def kind_label(self) -> str:
        return ALERT_KINDS.get(self.kind, self.kind)


# --- 统计分析 rollup (see exchange/supervision/rollup.py) --------------------------------------------------

def _stats_measure_columns() -> dict:
    """The additive measures of one (day or month, town, village, category, method) cell."""
    from sqlalchemy import Float, Integer, Numeric
    cols: dict = {}
    for name in ("submitted", "published", "failed", "deals", "with_floor", "rank_deals", "submissions", "returns",
                 "station_reviews", "center_reviews"):
        cols[name] = mapped_column(Integer, default=0, nullable=False)
    for name in ("deal_amount", "priced_amount", "floor_total", "rank_amount", "deposit_net"):
        cols[name] = mapped_column(Numeric(20, 2), default=0, nullable=False)
    cols["area_mu"] = mapped_column(Numeric(24, 6), default=0, nullable=False)
    cols["ratio_sum"] = mapped_column(Float, default=0, nullable=False)
    cols["station_seconds_sum"] = mapped_column(Float, default=0, nullable=False)
    cols["center_seconds_sum"] = mapped_column(Float, default=0, nullable=False)
    for st in ("review", "announce", "contract", "settle", "certify"):
        cols[f"{st}_n"] = mapped_column(Integer, default=0, nullable=False)
        cols[f"{st}_seconds_sum"] = mapped_column(Float, default=0, nullable=False)
        cols[f"{st}_seconds_max"] = mapped_column(Float)
    for c in ("contract", "settle", "certify", "refund"):
        for part in ("met", "late", "pending"):
            cols[f"{c}_{part}"] = mapped_column(Integer, default=0, nullable=False)
    return cols


def _stats_key_columns(first: str) -> dict:
    from sqlalchemy import Date, Integer
    return {first: mapped_column(Date, primary_key=True),
            "station_id": mapped_column(Integer, primary_key=True, autoincrement=False),
            "point_id": mapped_column(Integer, primary_key=True, autoincrement=False),  # 0: applied directly
            "category_id": mapped_column(Integer, primary_key=True, autoincrement=False),
            "method": mapped_column(String(20), primary_key=True)}


StatsDay = type("StatsDay", (db.Model,), {
    "__doc__": "The statistics' additive measures per Beijing calendar day (the day of the event each measure "
               "is about) and (town, village, category, method); rebuilt exactly by rollup.refresh().",
    "__tablename__": "stats_day",
    "__table_args__": (Index("ix_stats_day_cell", "station_id", "point_id", "category_id", "method", "day"),),
    **_stats_key_columns("day"), **_stats_measure_columns()})

StatsMonth = type("StatsMonth", (db.Model,), {
    "__doc__": "The same measures summed per calendar month (``month`` = its first day), from stats_day.",
    "__tablename__": "stats_month", **_stats_key_columns("month"), **_stats_measure_columns()})


class StatsListingDay(db.Model):
    """The stats_day cells (day, town, village, category, method) a listing contributed to when the rollup last
    saw it: the cells to recompute when it changes, and the listings to read when a cell is recomputed."""

    __tablename__ = "stats_listing_day"
    __table_args__ = (Index("ix_stats_listing_day_cell", "day", "station_id", "point_id", "category_id", "method"),)

    listing_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    point_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    method: Mapped[str] = mapped_column(String(20), primary_key=True)


class StatsDirty(db.Model):
    """Listings changed since the rollup last saw them (written in the changing transaction)."""

    __tablename__ = "stats_dirty"

    listing_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 0: rebuild everything
