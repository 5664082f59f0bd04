"""What the center reviewer needs to qualify a buyer (第十三条) — and what each other role may see of an application.

:func:`identity_of_buyer` is the buyer's identity as registered (证件号 / 统一社会信用代码, 法定代表人, 联系人, 手机);
:func:`checks` are the system's own checks shown beside it: the check digit of the ID or USCC (GB 11643 / GB 32100),
the mobile number, another applicant of the same listing with the same phone or applying from the same address
(第二十五条: 串通 risk), and the foreign-investor declaration (实施方案 二(四)3).  They inform the reviewer; they never
decide for them.

Who sees what: the materials open for the buyer, the staff who may review the application and the supervisor
(read-only, 第二十六条); the 竞买号 — the bidder's only name in the bidding room — is shown to the buyer, and to center
staff and the supervisor only once bidding is over (station and point staff never need it)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from exchange import idcheck
from exchange.access import AccessDenied, can
from exchange.accounts.models import Party, Role, User
from exchange.audit.models import AuditEntry
from exchange.audit.services import usable_ip
from exchange.extensions import db
from exchange.registrations.models import Registration

# the listing states in which the mapping 竞买号 → person is the secret that keeps bidding fair
BIDDING_SECRET_STATES = frozenset({"draft", "station_review", "center_review", "returned", "announced", "trading",
                                   "suspended"})
BIDDER_NO_STAFF = frozenset({Role.CENTER_REVIEWER, Role.TRADING_OFFICER, Role.FINANCE, Role.ADMIN, Role.SUPERVISOR})


def may_open_materials(user, reg: Registration) -> bool:
    """The buyer's own papers: the buyer, the staff who may review the application, the supervisor (read-only)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.id == reg.buyer_id:
        return True
    if user.role == Role.SUPERVISOR:
        return True
    return can(user, "registrations.review", reg.listing.org)


def authorise_materials(user, reg: Registration) -> None:
    if not may_open_materials(user, reg):
        raise AccessDenied("报名材料只有报名人本人和负责资格审核的工作人员可以查看。")


def shows_bidder_no(user, reg: Registration) -> bool:
    """Whether ``user`` may see this registration's 竞买号 (see the module's note)."""
    if not reg.bidder_no or not getattr(user, "is_authenticated", False):
        return False
    if user.id == reg.buyer_id:
        return True
    return user.role in BIDDER_NO_STAFF and reg.listing.state not in BIDDING_SECRET_STATES


@dataclass
class Identity:
    kind: str                 # person / organisation
    kind_label: str
    name: str
    ident_label: str          # 居民身份证号 / 统一社会信用代码
    ident: str
    org_type_label: str | None = None
    legal_rep: str | None = None
    contact_name: str = ""
    mobile: str = ""
    account_mobile: str = ""  # the account's own number, when it differs from the party's
    address: str | None = None
    foreign_label: str = ""
    email: str | None = None


def identity_of_buyer(reg: Registration) -> Identity | None:
    party: Party | None = reg.buyer.party
    if party is None:
        return None
    person = party.kind == "person"
    account_mobile = (reg.buyer.mobile or "").strip()
    return Identity(kind=party.kind, kind_label=party.kind_label, name=party.name,
                    ident_label="居民身份证号" if person else "统一社会信用代码",
                    ident=(party.id_number if person else party.uscc) or "",
                    org_type_label=party.org_type_label, legal_rep=party.legal_rep, contact_name=party.contact_name,
                    mobile=party.mobile, account_mobile=account_mobile if account_mobile != party.mobile else "",
                    address=party.address, foreign_label=reg.foreign_kind_label, email=reg.buyer.email)


@dataclass
class Check:
    level: str                # ok / info (could not be checked) / warn / error
    label: str
    text: str
    others: list = field(default_factory=list)   # [(registration id, buyer name)] of the other applicants


def _apply_ips(reg_ids: list[int]) -> dict[int, str]:
    """The address each application was sent from (its ``registration.apply`` audit entry)."""
    if not reg_ids:
        return {}
    rows = db.session.execute(select(AuditEntry.object_id, AuditEntry.ip).where(
        AuditEntry.action == "registration.apply", AuditEntry.object_type == "registration",
        AuditEntry.object_id.in_([str(i) for i in reg_ids]))).all()
    return {int(obj): (ip or "").strip() for obj, ip in rows if obj and obj.isdigit()}


def _phones(user: User) -> set[str]:
    found = {(user.mobile or "").strip()}
    if user.party is not None:
        found.add((user.party.mobile or "").strip())
    return {idcheck._mobile_digits(p) for p in found if p}


def checks(reg: Registration) -> list[Check]:
    """The system's own checks of an application, for the reviewer (never a decision)."""
    out: list[Check] = []
    ident = identity_of_buyer(reg)
    if ident is None:
        out.append(Check("error", "主体信息", "该账号没有登记身份信息（证件号），不能确认资格。"))
    else:
        try:
            if ident.kind == "person":
                idcheck.check_resident_id(ident.ident)
                out.append(Check("ok", "身份证号校验", "身份证号格式和校验位正确（GB 11643）。"))
            else:
                code = idcheck.check_uscc(ident.ident)
                extra = "；以 N 开头，为农村集体经济组织" if idcheck.uscc_is_rural_collective(code) else ""
                out.append(Check("ok", "统一社会信用代码校验", f"代码格式和校验位正确（GB 32100）{extra}。"))
        except idcheck.IdCheckError as exc:
            out.append(Check("error", f"{ident.ident_label}校验", f"校验未通过：{exc}。请核对证件原件。"))
        try:
            idcheck.check_mobile(ident.mobile)
            out.append(Check("ok", "手机号码", "号码格式正确（11 位手机号）。"))
        except idcheck.IdCheckError as exc:
            out.append(Check("warn", "手机号码", f"{exc}。请电话核实联系方式。"))
    if reg.by_agent:
        try:
            idcheck.check_resident_id(reg.agent_id_no)
            out.append(Check("ok", "受托人身份证号", f"{reg.agent_name} 的身份证号校验位正确。"))
        except idcheck.IdCheckError as exc:
            out.append(Check("error", "受托人身份证号", f"{reg.agent_name} 的身份证号校验未通过：{exc}。"))

    others = db.session.scalars(select(Registration).where(Registration.listing_id == reg.listing_id,
                                                           Registration.id != reg.id,
                                                           Registration.state != "rejected")
                                .order_by(Registration.id)).all()
    mine = _phones(reg.buyer)
    same_phone = [(o.id, o.buyer.display_name) for o in others if mine & _phones(o.buyer)]
    if same_phone:
        out.append(Check("warn", "同一手机号码", "本项目另有报名人使用相同的手机号码，可能存在串通报价风险"
                         "（第二十五条），请核实双方关系。", same_phone))
    else:
        out.append(Check("ok", "同一手机号码", "本项目其他报名人没有使用相同的手机号码。"))
    ips = _apply_ips([reg.id] + [o.id for o in others])
    own_ip = ips.get(reg.id, "")
    if not usable_ip(own_ip):
        out.append(Check("info", "同一网络地址报名", "该报名的网络地址是内部或代理地址，无法比对；"
                         "如有疑问请核实报名人的联系方式。"))
    else:
        same_ip = [(o.id, o.buyer.display_name) for o in others if ips.get(o.id) == own_ip]
        if same_ip:
            out.append(Check("warn", "同一网络地址报名", f"本项目另有报名人从同一网络地址（{own_ip}）提交报名，"
                             "可能存在串通报价风险（第二十五条），请核实双方关系。", same_ip))
        else:
            out.append(Check("ok", "同一网络地址报名", f"报名地址 {own_ip}，本项目其他报名人没有从该地址报名。"))
    if reg.is_foreign:
        out.append(Check("warn", "外资企业或境外投资者", f"报名时声明为“{reg.foreign_kind_label}”：须按外商投资法律法规"
                         "核验审批或备案文件后，才能确认资格。"))
    elif reg.foreign_kind:
        out.append(Check("ok", "外资企业或境外投资者", f"报名时声明：{reg.foreign_kind_label}。"))
    else:
        out.append(Check("warn", "外资企业或境外投资者", "报名人未声明是否为外资企业或境外投资者，请向报名人核实。"))
    return out


__all__ = ["Check", "Identity", "authorise_materials", "checks", "identity_of_buyer", "may_open_materials",
           "shows_bidder_no"]
