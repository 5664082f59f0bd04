"""交易品种 and their 流转方式, as data the center admin edits (DESIGN §3.1, 第九条, 实施方案 二(三))."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.extensions import db


class Category(db.Model):
    __tablename__ = "category"
    __table_args__ = (CheckConstraint("announce_days BETWEEN 1 AND 60", name="announce_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # inherently a collective asset (第二十条 applies whatever the transferor says)
    collective: Mapped[bool] = mapped_column(Boolean, default=False)
    # minimum 公告期 in 工作日 (第十四条; the center's rule)
    announce_days: Mapped[int] = mapped_column(Integer, default=5)
    # buyers restricted to members of the collective (宅基地, 住房, 集体资产股权: 实施方案 二(四)3)
    restricts_buyers: Mapped[bool] = mapped_column(Boolean, default=False)
    # farmland: 工商资本 renting it gets the extra review of 农经发〔2015〕3号
    farmland: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(300), default="")

    methods: Mapped[list[TransferMethod]] = relationship(back_populates="category",
                                                         order_by="TransferMethod.seq")

    def active_methods(self) -> list[TransferMethod]:
        return [m for m in self.methods if m.active]


class TransferMethod(db.Model):
    """流转方式 allowed for a category (出租, 入股, 转让 …)."""

    __tablename__ = "transfer_method"
    __table_args__ = (UniqueConstraint("category_id", "name", name="uq_transfer_method_category_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[Category] = relationship(back_populates="methods")
