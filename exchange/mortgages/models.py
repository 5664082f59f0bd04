"""A mortgage (抵押登记; DESIGN §3.13): the right pledged — one traded here (its 鉴证书's listing) or one registered
at intake (its 权属证书) — the holder, the lender, the loan, the papers, and the registration, release or disposal.

``right_key`` names the right the same way whoever applies (交易品种 + 权属证书编号, normalised): a partial unique
index lets only one mortgage hold a right at a time, on both databases, whatever races."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock
from exchange.accounts.models import User
from exchange.catalog.models import Category
from exchange.db import Money, UTCDateTime
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.mortgages.states import MortgageState
from exchange.orgs.models import OrgUnit

_HOLDS_SQL = "state IN ('checked', 'approved', 'registered', 'disposing')"


class Mortgage(MortgageState.mixin(), db.Model):
    __tablename__ = "mortgage"
    __table_args__ = (
        CheckConstraint(MortgageState.check(), name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("loan_start < loan_end", name="loan_term"),
        CheckConstraint("appraisal_value IS NULL OR appraisal_value > 0", name="appraisal_positive"),
        CheckConstraint("origin IN ('holder', 'point')", name="origin"),
        CheckConstraint("holder_kind IN ('person', 'organisation')", name="holder_kind"),
        # one mortgage holds a right at a time (DESIGN §3.13: not mortgaged again without the mortgagee's consent)
        Index("uq_mortgage_right_held", "right_key", unique=True,
              sqlite_where=text(_HOLDS_SQL), postgresql_where=text(_HOLDS_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mortgage_no: Mapped[str | None] = mapped_column(String(40), unique=True)  # 临农交押〔2027〕第000001号
    state: Mapped[str] = mapped_column(String(12), default=MortgageState.APPLIED.value, index=True)
    origin: Mapped[str] = mapped_column(String(8), default="holder")         # holder online / point for them
    # the right
    right_key: Mapped[str] = mapped_column(String(80), index=True)          # C01:430682xxxx (normalised)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)  # traded here
    right_cert_no: Mapped[str] = mapped_column(String(60))
    location: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    unit: Mapped[str] = mapped_column(String(10), default="亩")
    right_end_date: Mapped[date] = mapped_column(Date)                       # the holder's right ends (lease end)
    obtained_by_lease: Mapped[bool] = mapped_column(default=False)           # a 经营权 obtained by 流转
    # the holder
    holder_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    holder_kind: Mapped[str] = mapped_column(String(12), default="person")
    holder_name: Mapped[str] = mapped_column(String(100))
    holder_id_no: Mapped[str] = mapped_column(String(18))
    holder_mobile: Mapped[str] = mapped_column(String(11), default="")
    point_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))  # the village (scope of its clerk)
    # the loan
    institution_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)                           # asked
    loan_start: Mapped[date] = mapped_column(Date)
    loan_end: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(300), default="")
    appraisal_value: Mapped[Decimal | None] = mapped_column(Money)
    appraisal_agency: Mapped[str] = mapped_column(String(100), default="")
    # the institution's decision
    loan_contract_no: Mapped[str] = mapped_column(String(60), default="")
    loan_amount: Mapped[Decimal | None] = mapped_column(Money)
    loan_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))          # annual, e.g. 0.0435
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    # the center
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # disposal on default
    disposal_listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    claimed_debt: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    category: Mapped[Category] = relationship()
    listing: Mapped[Listing | None] = relationship(foreign_keys=[listing_id])
    institution: Mapped[OrgUnit] = relationship(foreign_keys=[institution_id])
    point: Mapped[OrgUnit | None] = relationship(foreign_keys=[point_id])
    holder: Mapped[User | None] = relationship(foreign_keys=[holder_user_id])
    materials: Mapped[list[MortgageMaterial]] = relationship(back_populates="mortgage", cascade="all, delete-orphan",
                                                             order_by="MortgageMaterial.id")

    __mapper_args__ = {"version_id_col": version}


MATERIAL_KINDS = {
    "holder_id": "抵押人身份证明（身份证或营业执照）",
    "right_proof": "权属证明（鉴证书或承包经营权证、林权证等）",
    "contractor_consent": "承包方同意以经营权担保融资的书面意见",
    "contractor_filing": "向发包方备案的证明",
    "collective_decision": "集体经济组织的民主决策决议",
    "appraisal": "资产评估报告",
    "loan_contract": "借款合同和抵押合同",
    "release": "解押通知书（还款证明）",
    "claim": "债权清单和违约证明",
    "other": "其他材料",
}


class MortgageMaterial(db.Model):
    __tablename__ = "mortgage_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    mortgage_id: Mapped[int] = mapped_column(ForeignKey("mortgage.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(120))
    storage_key: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    mortgage: Mapped[Mortgage] = relationship(back_populates="materials")
