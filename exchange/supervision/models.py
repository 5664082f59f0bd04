"""监督预警: a warning found by the detector, with who acknowledged and who resolved it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db
from exchange.listings.models import Listing

ALERT_KINDS = {
    "overdue": "法定期限逾期",
    "low_price": "成交价明显低于评估价",
    "shared_contact": "同一项目竞买人共用电话、IP 地址或银行账户",
    "repeat_winner": "同一受让方多次无竞争成交",
    "repeated_failure": "同一标的多次流拍",
}
ALERT_STATES = {"open": "待处理", "acknowledged": "已知悉", "resolved": "已处理"}


class SupervisionAlert(db.Model):
    """One warning: ``kind`` + ``subject`` identify it (the detector finds the same thing again without a second
    row); the supervisor or the center acknowledges it, then records how it was resolved."""

    __tablename__ = "supervision_alert"
    __table_args__ = (
        UniqueConstraint("kind", "subject", name="uq_alert_kind_subject"),
        CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name="state"),
        CheckConstraint("severity IN ('high', 'medium', 'low')", name="severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    subject: Mapped[str] = mapped_column(String(120))  # e.g. "contract:12", "listing:5:phone:139…"
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    severity: Mapped[str] = mapped_column(String(6), default="medium")
    summary: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the facts behind it (masked)
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)
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

    @property
    def state_label(self) -> str:
        return ALERT_STATES[self.state]
