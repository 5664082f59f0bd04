"""意向受让登记, 资格确认 and 保证金 (第十三条, 第十九条; DESIGN §3.3, §3.5).

A registered buyer applies to an announced listing with the 第十三条 materials; the center reviewer
qualifies (a unique 缴款码 and the deposit deadline are issued) or rejects with a reason; the deposit's
arrival is booked in the ledger (one entry per bank event, idempotent) and the buyer receives a random
竞买号; a qualified buyer whose deposit has not *arrived* by the deadline is 视为放弃.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, require
from exchange.accounts.models import FOREIGN_KIND_LABELS, FOREIGN_KINDS, Role
from exchange.audit.services import record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.money import format_yuan, to_money
from exchange.registrations.models import Registration, RegistrationBan, RegistrationMaterial
from exchange.registrations.states import REGISTRATION
from exchange.tradingrules import services as trading_rules
from exchange.workdays.services import due_after_working_days

BUYER_MATERIALS = {
    "application": "农村产权受让申请书",
    "declaration": "意向受让方声明与保证",
    "credit": "资信证明（资产规模、信用评价等）",
    "qualification": "符合受让条件的资质证明",
    "entrustment": "授权委托书",
    "agent_id": "受托人身份证",
    "joint_agreement": "联合受让协议书",
    "representative": "代表推举书",
    "foreign_approval": "外商投资审批或备案文件（外资企业、境外投资者；受让农用地的须有批准文件）",
    # a supplier's application to a procurement project (招标/采购/招商, DESIGN §3.12)
    "bid_application": "投标报名表",
    "bidder_declaration": "投标人声明与保证",
    "business_license": "营业执照（个人承接小型服务的为身份证）",
    "certificate": "资质证书（按公告的资格要求）",
    "track_record": "类似项目业绩证明",
    "other": "其他材料",
}
# which kinds a buyer of a transfer and a supplier of a procurement are offered (the rest are the other's)
SUPPLIER_KINDS = ("bid_application", "bidder_declaration", "business_license", "certificate", "track_record")
BUYER_ONLY_KINDS = ("application", "declaration", "credit", "qualification")


def materials_for(listing) -> dict[str, str]:
    """The material kinds offered to an applicant of ``listing``, in the order of :data:`BUYER_MATERIALS`."""
    skip = BUYER_ONLY_KINDS if listing.is_procurement else SUPPLIER_KINDS
    return {k: v for k, v in BUYER_MATERIALS.items() if k not in skip}


class RegistrationError(ServiceError):
    """A rule about applications, qualification or deposits was not met."""


def required_materials(reg: Registration) -> list[str]:
    if reg.listing.is_procurement:  # a supplier: its papers against the announcement's 资格要求 (业绩 when asked)
        kinds = ["bid_application", "bidder_declaration", "business_license", "certificate"]
    else:
        kinds = ["application", "declaration", "credit", "qualification"]
    if reg.by_agent:
        kinds += ["entrustment", "agent_id"]
    if reg.joint:
        kinds += ["joint_agreement", "representative"]
    if reg.is_foreign:  # 实施方案 二(四)3: 外资企业和境外投资者按照有关法律、法规执行
        kinds += ["foreign_approval"]
    return kinds


def missing_materials(reg: Registration) -> list[str]:
    have = {m.kind for m in reg.materials}
    return [k for k in required_materials(reg) if k not in have]


def _is_transferor(buyer, listing) -> bool:
    if listing.transferor_user_id == buyer.id:
        return True
    party = buyer.party
    ident = (party.id_number or party.uscc) if party else None
    return bool(ident and listing.transferor_id_no and ident == listing.transferor_id_no.upper())


def authorise_apply(buyer) -> None:
    """Who may apply at all: an active trading party's own account (never staff)."""
    if (buyer is None or not getattr(buyer, "is_authenticated", False) or buyer.role != Role.PUBLIC
            or not buyer.active or buyer.party is None):
        raise AccessDenied("请先注册交易主体账号后再报名。")


def apply(buyer, listing, *, accept_declaration: bool, offer=None, by_agent: bool = False, agent_name: str = "",
          agent_id_no: str = "", joint: bool = False, joint_members: str = "",
          foreign_kind: str | None = None) -> Registration:
    """A buyer applies to an announced listing (意向受让登记).  ``foreign_kind`` is its declaration of 外资企业 /
    境外投资者 (实施方案 二(四)3); an account that declared it at sign-up need not repeat it, one that never did must."""
    authorise_apply(buyer)
    now = clock.now()
    ban = active_ban(buyer, now)
    if ban is not None:  # 第二十五条: barred for a period by the center's finding of a prohibited act
        raise RegistrationError(ban_message(ban))
    if listing.state != "announced" or listing.announce_end_at is None or now >= listing.announce_end_at:
        raise RegistrationError("该项目不在公告期内，不能报名。")
    if _is_transferor(buyer, listing):
        raise RegistrationError("转让方不能报名受让自己的项目。")
    if db.session.scalar(select(Registration.id).where(Registration.listing_id == listing.id,
                                                       Registration.buyer_id == buyer.id)):
        raise RegistrationError("您已报名该项目，请在“我的报名”中查看进度。")
    if not accept_declaration:
        raise RegistrationError("请阅读并确认《意向受让方声明与保证》。", field="accept_declaration")
    price = None
    if offer not in (None, ""):
        try:
            price = to_money(offer, strict=True)
        except (ValueError, TypeError) as exc:
            raise RegistrationError(f"意向报价：{exc}", field="offer") from None
    if listing.trading_method == "agreement":
        if price is None:
            raise RegistrationError("协议转让项目请填写意向报价。", field="offer")
        if listing.floor_price and price < listing.floor_price:
            raise RegistrationError(f"意向报价不能低于底价 {format_yuan(listing.floor_price)} 元。", field="offer")
    if by_agent and not (agent_name.strip() and agent_id_no.strip()):
        raise RegistrationError("委托代理的，请填写受托人姓名和身份证号。", field="agent_name")
    if joint and not joint_members.strip():
        raise RegistrationError("联合受让的，请列明各联合受让方。", field="joint_members")
    party = buyer.party
    declared = _foreign_declaration(party, foreign_kind)
    flags = []
    if declared in FOREIGN_KINDS:
        flags.append(f"{FOREIGN_KIND_LABELS[declared]}：须核验外商投资审批或备案文件")
        if listing.category.farmland:
            flags.append("外商投资农用地受限制：须有批准文件")
    if listing.category.farmland and party.kind == "organisation" and party.org_type == "enterprise":
        flags.append("工商资本租赁农地：须按农经发〔2015〕3号加强资格审查和风险防范")
    if listing.buyer_restriction == "members":
        flags.append("限本集体经济组织成员受让：请核实成员身份")
    days = trading_rules.value("qualification_review_working_days")  # 中心规则 (the 交易规则 page)
    reg = Registration(listing=listing, buyer=buyer, offer=price, by_agent=by_agent,
                       agent_name=agent_name.strip()[:60], agent_id_no=agent_id_no.strip().upper()[:18],
                       joint=joint, joint_members=joint_members.strip(), declaration_at=now,
                       flags="；".join(flags), review_due_at=due_after_working_days(now, days).at,
                       foreign_kind=declared)
    db.session.add(reg)
    db.session.flush()
    record("registration.apply", f"{buyer.display_name} 报名项目 {listing.project_no}", obj_type="registration",
           obj_id=reg.id, after={"listing": listing.project_no, "offer": price, "flags": reg.flags,
                                 "foreign_kind": declared})
    return reg


def _foreign_declaration(party, given: str | None) -> str:
    """What the application declares about 外资企业 / 境外投资者: never less than the account declared (a declared
    foreign investor cannot shed the flag here — the center corrects a wrong declaration); a first declaration, or a
    new foreign one, is kept on the account too."""
    from exchange.accounts.services import AccountError, check_foreign_kind
    try:
        given = check_foreign_kind(given, party.kind)
    except AccountError as exc:
        raise RegistrationError(exc.message, field="foreign_kind") from None
    if party.foreign_kind in FOREIGN_KINDS:
        return party.foreign_kind
    if not given:
        if not party.foreign_kind:
            raise RegistrationError("请声明您是否为外资企业或境外投资者（外资企业和境外投资者受让须按有关法律法规审查）。",
                                    field="foreign_kind")
        return party.foreign_kind
    if given != party.foreign_kind:
        before = party.foreign_kind
        party.foreign_kind = given
        record("party.foreign_kind", f"{party.name} 声明：{FOREIGN_KIND_LABELS[given]}", obj_type="party",
               obj_id=party.id, before={"foreign_kind": before or None}, after={"foreign_kind": given})
    return given


def authorise_own(buyer, reg: Registration) -> None:
    """The buyer's own application (its materials)."""
    if reg.buyer_id != getattr(buyer, "id", None):
        raise AccessDenied("只能为自己的报名上传材料。")


def add_material(buyer, reg: Registration, kind: str, upload, filename: str | None = None) -> RegistrationMaterial:
    authorise_own(buyer, reg)
    if reg.state != "applied":
        raise RegistrationError("资格审核已完成，不能再修改材料。")
    if kind not in materials_for(reg.listing):
        raise RegistrationError("材料类型不正确。", field="kind")
    from exchange.uploads import UploadError, accept_upload
    try:
        stored = accept_upload(upload, filename)
    except UploadError as exc:
        raise RegistrationError(str(exc), field="file") from None
    m = RegistrationMaterial(registration=reg, kind=kind, filename=stored.filename, storage_key=stored.key,
                             content_type=stored.content_type, size=stored.size, sha256=stored.sha256)
    db.session.add(m)
    db.session.flush()
    record("registration.material_add", f"报名 #{reg.id} 上传 {stored.filename}", obj_type="registration",
           obj_id=reg.id, after={"kind": kind, "sha256": stored.sha256})
    return m


def _new_payment_ref() -> str:
    while True:
        ref = "LX" + "".join(secrets.choice("0123456789") for _ in range(10))
        if not db.session.scalar(select(Registration.id).where(Registration.payment_ref == ref)):
            return ref


def authorise_review(reviewer, reg: Registration) -> None:
    """The center's review of an application (资格确认 or 不予登记)."""
    require(reviewer, "registrations.review", reg.listing.org)


def qualify(reviewer, reg: Registration, note: str = "", *, priority_right: bool = False,
            priority_basis: str = "", foreign_checked: bool = False, foreign_check_note: str = "") -> Registration:
    """资格确认: issues the 缴款码, the amount and the deadline (第十三条, 第十九条(一)).  A buyer holding the
    priority right (本集体经济组织成员、原承包方等, 同等条件优先) is recognised here, with its basis.  A declared
    外资企业 / 境外投资者 (实施方案 二(四)3) is qualified only with the reviewer's record that its 审批/备案 documents
    were checked (``foreign_checked`` and what was checked, ``foreign_check_note``)."""
    authorise_review(reviewer, reg)
    if reg.state != "applied":
        raise RegistrationError(f"报名当前状态为“{reg.state_label}”，不能确认资格。")
    missing = missing_materials(reg)
    if missing:
        raise RegistrationError("材料不齐全，不能确认资格：缺" + "、".join(BUYER_MATERIALS[k] for k in missing) + "。")
    if reg.listing.state != "announced":
        raise RegistrationError("项目已不在公告期，不能确认资格。")
    priority_basis = (priority_basis or "").strip()
    if priority_right and not priority_basis:
        raise RegistrationError("认定优先权的，请写明依据（如：本集体经济组织成员、原承包方）。", field="priority_basis")
    foreign_check_note = (foreign_check_note or "").strip()
    if reg.is_foreign:
        if not foreign_checked:
            raise RegistrationError(f"报名人声明为{reg.foreign_kind_label}：请查看其上传的外商投资审批或备案文件，"
                                    "勾选“已核验审批或备案文件”后再确认资格。", field="foreign_checked")
        if not foreign_check_note:
            raise RegistrationError("请写明核验了哪些审批或备案文件（文号、批准机关）及核验结论。",
                                    field="foreign_check_note")
        if len(foreign_check_note) > 500:
            raise RegistrationError("核验情况不能超过 500 个字。", field="foreign_check_note")
        reg.foreign_checked_by_id, reg.foreign_checked_at = reviewer.id, clock.now()
        reg.foreign_check_note = foreign_check_note
    REGISTRATION.fire(reg, "qualify", reviewer, authorised=True)
    reg.priority_right, reg.priority_basis = bool(priority_right), priority_basis[:100] if priority_right else ""
    reg.reviewed_by_id, reg.reviewed_at, reg.review_note = reviewer.id, clock.now(), (note or "").strip()[:500]
    reg.payment_ref = _new_payment_ref()
    reg.deposit_amount = reg.listing.deposit_amount
    reg.deposit_deadline_at = reg.listing.deposit_deadline_at
    db.session.flush()
    record("registration.qualify", f"确认 {reg.buyer.display_name} 的受让资格（项目 {reg.listing.project_no}）",
           obj_type="registration", obj_id=reg.id,
           after={"payment_ref": reg.payment_ref, "deposit": reg.deposit_amount,
                  "deadline": reg.deposit_deadline_at, "priority_right": reg.priority_basis or None,
                  **({"foreign_kind": reg.foreign_kind, "foreign_checked": reg.foreign_check_note}
                     if reg.is_foreign else {})})
    return reg


def reject(reviewer, reg: Registration, reason: str) -> Registration:
    authorise_review(reviewer, reg)
    if reg.state != "applied":
        raise RegistrationError(f"报名当前状态为“{reg.state_label}”，不能作出不予登记的决定。")
    reason = (reason or "").strip()
    if not reason:
        raise RegistrationError("请写明不予登记的理由，报名人将看到它。", field="reason")
    REGISTRATION.fire(reg, "reject", reviewer, reason=reason, authorised=True)
    reg.reviewed_by_id, reg.reviewed_at, reg.review_note = reviewer.id, clock.now(), reason[:500]
    db.session.flush()
    record("registration.reject", f"不予登记 {reg.buyer.display_name}（项目 {reg.listing.project_no}）：{reason}",
           obj_type="registration", obj_id=reg.id)
    return reg


def new_bidder_no(listing_id: int) -> str:
    taken = set(db.session.scalars(select(Registration.bidder_no).where(Registration.listing_id == listing_id,
                                                                        Registration.bidder_no.is_not(None))))
    while True:
        no = f"{secrets.randbelow(9000) + 1000}"
        if no not in taken:
            return no


class NotPayable(RegistrationError):
    """A deposit that cannot be booked as it stands; ``code`` says why (late, partial, excess …)."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message, field)
        self.code = code


def payable_problem(reg: Registration, amount: Decimal, arrived: datetime) -> NotPayable | None:
    """Why ``amount`` arriving at ``arrived`` cannot be booked as ``reg``'s deposit, or None."""
    if reg.state == "paid":
        return NotPayable("already_paid", "该报名的保证金已经到账，不能重复入账。")
    if reg.state != "qualified":
        return NotPayable("not_payable", f"报名当前状态为“{reg.state_label}”，不能确认保证金到账。")
    if reg.listing.state in ("terminated", "suspended"):
        return NotPayable("not_payable", "项目已终结或中止，不能交纳保证金；已到账的款项将原路退回。")
    if reg.deposit_deadline_at and arrived > reg.deposit_deadline_at:
        return NotPayable("late", f"到账时间晚于截止时间 {clock.to_local(reg.deposit_deadline_at):%Y-%m-%d %H:%M}，"
                                  "视为放弃受让意向（第十九条）；该笔款项请按退款处理。", "arrived_at")
    if amount != reg.deposit_amount:
        code = "partial" if amount < reg.deposit_amount else "excess"
        return NotPayable(code, f"到账金额 {format_yuan(amount)} 元与应交保证金 {format_yuan(reg.deposit_amount)} 元不符，"
                                "请按差错处理，不能自动认定。", "amount")
    return None


def unpaid_due_ids(now: datetime) -> list[int]:
    """Qualified registrations whose deposit deadline has passed (a plain read)."""
    from exchange.listings.models import Listing
    return list(db.session.scalars(select(Registration.id).join(Listing, Listing.id == Registration.listing_id)
                                   .where(Registration.state == "qualified", Registration.deposit_deadline_at <= now,
                                          Listing.state != "suspended")  # 中止: its clock is frozen
                                   .order_by(Registration.deposit_deadline_at, Registration.id)))


def abandon(reg_id: int, now: datetime) -> bool:
    """视为放弃 one registration whose deposit has not arrived by the deadline (第十九条(一)); False when it
    is no longer due (paid meanwhile, or done by someone else).  Locks the row first."""
    from exchange.db import lock_row
    reg = lock_row(db.session, Registration, reg_id)
    if (reg is None or reg.state != "qualified" or reg.deposit_deadline_at is None or reg.deposit_deadline_at > now
            or reg.listing.state == "suspended"):
        return False
    REGISTRATION.fire(reg, "abandon")
    record("registration.abandoned", f"逾期未交保证金，视为放弃：{reg.buyer.display_name}（{reg.payment_ref}）",
           obj_type="registration", obj_id=reg.id)
    db.session.flush()
    return True


def abandon_unpaid(now: datetime | None = None) -> int:
    """视为放弃 every registration due (in one transaction; the sweeper goes item by item)."""
    now = now or clock.now()
    return sum(abandon(rid, now) for rid in unpaid_due_ids(now))


def for_buyer(buyer) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(Registration.buyer_id == buyer.id)
                                   .order_by(Registration.id.desc())))


def queue_count(user, state: str) -> int:
    """How many registrations in ``state`` the user has to act on or follow."""
    from sqlalchemy import func

    from exchange.access import scope_clause
    from exchange.listings.models import Listing
    stmt = select(func.count(Registration.id)).where(Registration.state == state)
    if user.role == Role.PUBLIC:
        stmt = stmt.where(Registration.buyer_id == user.id)
    else:
        stmt = stmt.join(Listing).where(scope_clause(user, Listing.org_path))
    return db.session.scalar(stmt) or 0


# --- 禁止报名 (第二十五条) ------------------------------------------------------------------------------------------

BAN_MAX_DAYS = 3650


def identity_of(user) -> str:
    """A public account's 身份证号 or 统一社会信用代码 (upper case), or ""."""
    party = getattr(user, "party", None)
    return ((party.id_number or party.uscc) or "").upper() if party is not None else ""


def active_ban(user, now: datetime | None = None) -> RegistrationBan | None:
    """The ban in force on ``user`` (by account or by identity number) that ends last, or None."""
    if user is None or getattr(user, "id", None) is None:
        return None
    from sqlalchemy import or_
    now = now or clock.now()
    ident = identity_of(user)
    who = or_(RegistrationBan.user_id == user.id, RegistrationBan.ident == ident) if ident else \
        RegistrationBan.user_id == user.id
    return db.session.scalar(select(RegistrationBan).where(who, RegistrationBan.starts_at <= now,
                                                           RegistrationBan.ends_at > now)
                             .order_by(RegistrationBan.ends_at.desc(), RegistrationBan.id.desc()).limit(1))


def ban_message(ban: RegistrationBan) -> str:
    d = ban.last_day
    return (f"交易中心认定您存在《管理办法》第二十五条禁止的行为（{ban.reason}），"
            f"{d.year}年{d.month}月{d.day}日（含）以前不能报名新的项目，期满后可以正常报名。")


def ban_from_registering(actor, *, user=None, ident: str = "", name: str, days: int, reason: str) -> RegistrationBan:
    """禁止报名 for ``days`` calendar days, counted from the day after the decision (民法典 第二百零一条: the day it
    starts is not counted) and ending at the close of the last day, Beijing time.  The caller (the center's finding
    of a prohibited act) states the ground; the account (``user``) and its identity number (``ident``) are barred."""
    require(actor, "conduct.decide")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= BAN_MAX_DAYS:
        raise RegistrationError(f"禁止报名的天数应为 1 至 {BAN_MAX_DAYS} 天。", field="ban_days")
    ident = (ident or (identity_of(user) if user is not None else "")).strip().upper()[:18]
    if user is None and not ident:
        raise RegistrationError("无法确定该当事人的账号或证件号码，不能禁止其报名。", field="ban_days")
    from datetime import timedelta
    now = clock.now()
    ends = clock.local_datetime(clock.today_local() + timedelta(days=days + 1))
    ban = RegistrationBan(user_id=getattr(user, "id", None), ident=ident, name=(name or "")[:100],
                          reason=(reason or "")[:300], starts_at=now, ends_at=ends, created_by_id=actor.id)
    db.session.add(ban)
    db.session.flush()
    record("registration.ban", f"禁止 {ban.name} 报名至 {ban.last_day.isoformat()}（含）：{ban.reason}",
           obj_type="registration_ban", obj_id=ban.id,
           after={"user_id": ban.user_id, "days": days, "starts_at": now, "ends_at": ends, "reason": ban.reason})
    return ban


def disqualify(actor, reg: Registration, reason: str) -> str:
    """取消报名资格 (第二十五条): the registration leaves the race through its machine; returns the state it left (a
    deposit held — ``paid`` — is for the caller to put up for refund through the ledger).  The caller authorised the
    actor and decided that the listing is still before its deal."""
    reason = (reason or "").strip()
    before = REGISTRATION.fire(reg, "disqualify", actor, reason=reason, authorised=True)
    db.session.flush()
    record("registration.disqualify", f"取消 {reg.buyer.display_name} 的报名资格（项目 {reg.listing.project_no}）：{reason}",
           obj_type="registration", obj_id=reg.id, before={"state": before}, after={"state": reg.state, "reason": reason})
    return before
