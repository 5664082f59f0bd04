"""终结 (Termination, 第二十四条): decided by the center on one of the article's five grounds, with the
approving document; the listing ends and every deposit is put up for refund."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import UTCDateTime
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
