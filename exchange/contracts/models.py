"""合同 (Contract): one per deal, from the standard template of the listing's category family."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.contracts.states import ContractState
from exchange.trading.models import Deal

CONTRACT_STATES = ContractState.labels()


class Contract(ContractState.mixin(), db.Model):
    __tablename__ = "contract"
    __table_args__ = (
        CheckConstraint(ContractState.check(), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), unique=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    template: Mapped[str] = mapped_column(String(30))  # the category family's standard text
    contract_no: Mapped[str | None] = mapped_column(String(40), unique=True)  # given when effective
    clauses: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the free clauses the center may edit
    state: Mapped[str] = mapped_column(String(10), default=ContractState.DRAFT.value, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # 第十六条: 5 工作日 after the deal
    text_sha256: Mapped[str] = mapped_column(String(64), default="")  # of the text both parties confirmed
    # the text itself (HTML), frozen at the first signature: the second party, the PDF and the archive read this, so a
    # later change of a template or of the listing's record never changes what was signed
    text_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    buyer_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    buyer_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    seller_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seller_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    seller_confirmed_as: Mapped[str] = mapped_column(String(60), default="")  # 转让方本人 / 受托代为确认 …
    # a household without an account signs on paper: the page it signed, attached by the clerk who records it
    seller_signature_key: Mapped[str | None] = mapped_column(String(64))
    seller_signature_filename: Mapped[str] = mapped_column(String(120), default="", server_default="")
    seller_signature_content_type: Mapped[str] = mapped_column(String(40), default="", server_default="")
    seller_signature_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    scan_key: Mapped[str | None] = mapped_column(String(64))
    scan_filename: Mapped[str] = mapped_column(String(120), default="")
    scan_content_type: Mapped[str] = mapped_column(String(40), default="")
    scan_sha256: Mapped[str] = mapped_column(String(64), default="")
    scan_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scan_uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    check_note: Mapped[str] = mapped_column(String(500), default="")
    signed_on: Mapped[date | None] = mapped_column(Date)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    deal: Mapped[Deal] = relationship()
    listing: Mapped[Listing] = relationship()

    __mapper_args__ = {"version_id_col": version}
