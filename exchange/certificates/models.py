"""农村产权流转交易鉴证书 (Certificate): numbered gap-free per year, never issued twice for one deal,
revocable with a reason (a corrected one gets a new number)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import UTCDateTime
from exchange.certificates.states import CertState
from exchange.extensions import db
from exchange.trading.models import Deal


class Certificate(CertState.mixin(), db.Model):
    __tablename__ = "certificate"
    __table_args__ = (
        CheckConstraint(CertState.check(), name="state"),
        UniqueConstraint("year", "seq", name="uq_certificate_year_seq"),
        # one valid certificate per deal, enforced by the database as well
        Index("uq_certificate_valid_deal", "deal_id", unique=True, sqlite_where=text("state = 'valid'"),
              postgresql_where=text("state = 'valid'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cert_no: Mapped[str] = mapped_column(String(40), unique=True)  # 临农交鉴〔2026〕第000123号
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=CertState.VALID.value)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    pdf_key: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_reason: Mapped[str] = mapped_column(String(500), default="")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))

    deal: Mapped[Deal] = relationship()
