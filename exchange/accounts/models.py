"""Accounts: staff of the three tiers, supervisors, and public parties (buyers/transferors)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange import clock, labels
from exchange.db import UTCDateTime
from exchange.extensions import db
from exchange.orgs.models import OrgKind, OrgUnit


class Role(StrEnum):
    POINT_CLERK = "point_clerk"
    STATION_REVIEWER = "station_reviewer"
    CENTER_REVIEWER = "center_reviewer"
    TRADING_OFFICER = "trading_officer"
    FINANCE = "finance"
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    # 金融机构客户经理 (抵押登记与融资, DESIGN §3.13): staff of a bank or guarantee firm, scoped to it
    LENDER = "lender"
    PUBLIC = "public"


ROLE_LABELS = {
    Role.POINT_CLERK: "交易点信息员",
    Role.STATION_REVIEWER: "交易站初审员",
    Role.CENTER_REVIEWER: "中心审核员",
    Role.TRADING_OFFICER: "中心交易员",
    Role.FINANCE: "中心财务",
    Role.ADMIN: "中心管理员",
    Role.SUPERVISOR: "监管人员",
    Role.LENDER: "金融机构客户经理",
    Role.PUBLIC: "交易主体",
}

labels.register("role", {r.value: name for r, name in ROLE_LABELS.items()})

STAFF_ROLES = tuple(r for r in Role if r is not Role.PUBLIC)

# The kind of org unit each staff role is bound to.
ROLE_ORG_KIND = {
    Role.POINT_CLERK: OrgKind.POINT,
    Role.STATION_REVIEWER: OrgKind.STATION,
    Role.CENTER_REVIEWER: OrgKind.CENTER,
    Role.TRADING_OFFICER: OrgKind.CENTER,
    Role.FINANCE: OrgKind.CENTER,
    Role.ADMIN: OrgKind.CENTER,
    Role.SUPERVISOR: OrgKind.CENTER,
    Role.LENDER: OrgKind.INSTITUTION,
}

ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLE_VALUES})", name="role"),
        CheckConstraint("(role = 'public') = (org_unit_id IS NULL)", name="staff_has_org"),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(60))
    mobile: Mapped[str | None] = mapped_column(String(11))
    email: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # bumped on password change / reset: every other session of the account ends
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_ip: Mapped[str | None] = mapped_column(String(45))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    org_unit: Mapped[OrgUnit | None] = relationship()
    party: Mapped[Party | None] = relationship(back_populates="user", uselist=False)

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_staff(self) -> bool:
        return self.role != Role.PUBLIC

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[Role(self.role)]

    @property
    def org_name(self) -> str | None:
        return self.org_unit.name if self.org_unit else None

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > clock.now()

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class OrgType(StrEnum):
    ENTERPRISE = "enterprise"
    COOPERATIVE = "cooperative"
    FAMILY_FARM = "family_farm"
    COLLECTIVE = "collective"
    OTHER = "other"


ORG_TYPE_LABELS = {
    OrgType.ENTERPRISE: "企业",
    OrgType.COOPERATIVE: "农民专业合作社",
    OrgType.FAMILY_FARM: "家庭农场",
    OrgType.COLLECTIVE: "农村集体经济组织",
    OrgType.OTHER: "其他组织",
}

PARTY_KIND_LABELS = {PartyKind.PERSON: "自然人", PartyKind.ORGANISATION: "法人或其他组织"}

# 外资企业和境外投资者 (实施方案 二(四)3: "按照有关法律、法规执行"): what a party declares when it signs up or applies.
# '' is an account opened before the question was asked (it declares when it next applies for a listing).
FOREIGN_KIND_LABELS = {
    "domestic": "否（境内主体）",
    "foreign_enterprise": "外资企业（外商投资企业）",
    "foreign_person": "境外自然人（外国人、港澳台居民）",
    "foreign_org": "境外企业或其他境外组织",
}
FOREIGN_KINDS = frozenset({"foreign_enterprise", "foreign_person", "foreign_org"})  # flagged to the reviewer
# which declarations fit which kind of party
FOREIGN_KINDS_FOR = {"person": ("domestic", "foreign_person"),
                     "organisation": ("domestic", "foreign_enterprise", "foreign_org")}


class Party(db.Model):
    """The legal identity behind a public account (意向受让方 or 转让方)."""

    __tablename__ = "party"
    __table_args__ = (
        CheckConstraint("kind IN ('person', 'organisation')", name="kind"),
        CheckConstraint("(kind = 'person' AND id_number IS NOT NULL AND uscc IS NULL) OR "
                        "(kind = 'organisation' AND uscc IS NOT NULL AND id_number IS NULL)",
                        name="identity"),
        CheckConstraint("foreign_kind IN ('', 'domestic', 'foreign_enterprise', 'foreign_person', 'foreign_org') AND "
                        "(kind = 'organisation' OR foreign_kind IN ('', 'domestic', 'foreign_person')) AND "
                        "(kind = 'person' OR foreign_kind <> 'foreign_person')", name="foreign_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(15))
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)  # 居民身份证号
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    org_type: Mapped[str | None] = mapped_column(String(20))
    legal_rep: Mapped[str | None] = mapped_column(String(60))  # 法定代表人/负责人
    contact_name: Mapped[str] = mapped_column(String(60))
    mobile: Mapped[str] = mapped_column(String(11))
    address: Mapped[str | None] = mapped_column(String(200))
    # 外资企业 / 境外投资者 as declared (FOREIGN_KIND_LABELS); '' not declared yet
    foreign_kind: Mapped[str] = mapped_column(String(20), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user: Mapped[User] = relationship(back_populates="party")

    @property
    def is_foreign(self) -> bool:
        return self.foreign_kind in FOREIGN_KINDS

    @property
    def foreign_kind_label(self) -> str:
        return FOREIGN_KIND_LABELS.get(self.foreign_kind, "未声明")

    @property
    def kind_label(self) -> str:
        return PARTY_KIND_LABELS[PartyKind(self.kind)]

    @property
    def org_type_label(self) -> str | None:
        return ORG_TYPE_LABELS[OrgType(self.org_type)] if self.org_type else None


class ApiToken(db.Model):
    """A bearer token for machine access (government consumers, integrations).

    Only the SHA-256 of the token is stored; the token itself is shown once when created.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def is_usable(self) -> bool:
        now = clock.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class LoginThrottle(db.Model):
    """Failed sign-ins counted for one scope (exchange/accounts/throttle.py): an account seen from one client
    (``pair``), one network address over every account (``address``), or one account over every client without
    a device cookie for it (``account``).  An account is named by the login typed when no account has it, so an
    unknown name is counted, delayed and refused exactly like a real one."""
    __tablename__ = "login_throttle"
    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_login_throttle_scope_key"),
        CheckConstraint("scope IN ('pair', 'address', 'account')", name="scope"),
        CheckConstraint("failures >= 0", name="failures"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(160))
    # the account concerned (pair and account scopes, when the login names one): the admin page and unlock use it
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # no attempt in this scope is checked before this instant (a delay, or a lock when failures reached the limit)
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
