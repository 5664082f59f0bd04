"""抵押登记 services (issue 19; DESIGN §3.13): apply, check, decide, register, release, withdraw — and the check every
listing's submission makes that its right is not held by a mortgage.

A right is named by its key (:func:`exchange.mortgages.rules.right_key`).  It is *free* when no mortgage holds it
(``checked`` … ``disposing``; the database's partial unique index backs this under concurrency) and no live listing
offers it (公告 … 鉴证, or suspended / in default).  The application and the center's check both ask; the
registration gives the 抵押登记证明 its number (临农交押〔年〕第N号).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from exchange import clock
from exchange.access import AccessDenied, require
from exchange.accounts.models import Role
from exchange.audit.services import record
from exchange.catalog.models import Category
from exchange.db import savepoint
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.idcheck import IdCheckError, check_mobile, check_resident_id, check_uscc
from exchange.inputs import InputError, check_date, parse_money, parse_quantity, parse_text
from exchange.listings import rules as listing_rules
from exchange.listings.models import Listing
from exchange.listings.states import ListingState
from exchange.money import format_yuan
from exchange.mortgages import rules
from exchange.mortgages.models import MATERIAL_KINDS, Mortgage, MortgageMaterial
from exchange.mortgages.states import MORTGAGE, MortgageState
from exchange.orgs.models import OrgKind, OrgUnit

# a listing that still offers its right (from its announcement to its 鉴证书, or held by a 中止 or a default)
LIVE_LISTING = ("announced", "trading", "publicity", "contract", "settlement", "certification", "suspended",
                "defaulted")
LEASES = ("出租", "转包", "承包", "租赁")  # methods by which a holder obtained a 经营权 by 流转


class MortgageError(ServiceError):
    """A mortgage step refused, or a value refused beside its field."""


def _date(raw, field: str, label: str) -> date:
    if isinstance(raw, date):
        return check_date(raw, field=field, label=label)
    try:
        return check_date(date.fromisoformat(str(raw or "").strip()), field=field, label=label)
    except ValueError:
        raise MortgageError(f"{label}请按 2027-03-01 的格式填写。", field) from None
    except InputError as exc:
        raise MortgageError(exc.message, field) from None


def _text(raw, field: str, label: str, limit: int, required: bool = True) -> str:
    try:
        return parse_text(raw, field=field, label=label, max_length=limit, required=required)
    except InputError as exc:
        raise MortgageError(exc.message, field) from None


def _money(raw, field: str, label: str):
    if raw in (None, ""):
        return None
    try:
        return parse_money(raw, field=field, label=label, strict=True)
    except InputError as exc:
        raise MortgageError(exc.message, field) from None


# --- is the right free? -------------------------------------------------------------------------------------------

def holding(key: str, *, except_id: int | None = None) -> Mortgage | None:
    """The mortgage holding the right (None: none does)."""
    stmt = select(Mortgage).where(Mortgage.right_key == key, Mortgage.state.in_(MortgageState.HOLDS))
    if except_id is not None:
        stmt = stmt.where(Mortgage.id != except_id)
    return db.session.scalar(stmt.limit(1))


def live_listing(key: str) -> Listing | None:
    """A listing still offering the right (its category and certificate number make the same key)."""
    code, _, _number = key.partition(":")
    rows = db.session.scalars(select(Listing).join(Category, Category.id == Listing.category_id).where(
        Category.code == code, Listing.state.in_(LIVE_LISTING), Listing.right_cert_no != ""))
    return next((row for row in rows if rules.right_key(code, row.right_cert_no) == key), None)


def freedom_problems(key: str, *, except_id: int | None = None) -> list[str]:
    out = []
    held = holding(key, except_id=except_id)
    if held is not None:
        out.append(f"该权利已抵押（或正在办理抵押）给{held.institution.name}，不能重复抵押。")
    listed = live_listing(key)
    if listed is not None:
        out.append(f"该权利正在交易（项目 {listed.project_no or listed.id}，{ListingState.label_of(listed.state)}），"
                   "交易结束前不能抵押。")
    return out


def listing_mortgage_problems(listing, for_submit: bool) -> list[tuple[str, str, bool]]:
    """One of ``listings.rules.RIGHT_CHECKS``: a right held by a mortgage is not listed (DESIGN §3.13) — unless the
    listing is the mortgage's own disposal."""
    if not (listing.right_cert_no or "").strip() or listing.category is None:
        return []
    held = holding(rules.right_key(listing.category.code, listing.right_cert_no))
    if held is None or held.disposal_listing_id == listing.id:
        return []
    return [("right_cert_no", f"该权利已抵押给{held.institution.name}（{held.mortgage_no or '正在办理抵押'}），"
                              "未经抵押权人同意不能挂牌交易。", True)]


listing_rules.RIGHT_CHECKS.append(listing_mortgage_problems)


# --- applying ----------------------------------------------------------------------------------------------------

def institution(raw) -> OrgUnit:
    try:
        oid = int(raw)
    except (TypeError, ValueError):
        raise MortgageError("请选择贷款的金融机构。", "institution_id") from None
    org = db.session.get(OrgUnit, oid)
    if org is None or org.kind != OrgKind.INSTITUTION.value or not org.active:
        raise MortgageError("请选择贷款的金融机构。", "institution_id")
    return org


def apply(actor, *, institution_id, amount, loan_start, loan_end, purpose="", appraisal_value=None,
          appraisal_agency="", listing: Listing | None = None, category_code: str | None = None,
          right_cert_no: str = "", location: str = "", quantity=None, unit: str = "亩", right_end_date=None,
          obtained_by_lease: bool = False, holder_name: str = "", holder_id_no: str = "",
          holder_mobile: str = "") -> Mortgage:
    """A holder applies (online), or its village point for it: the right — one traded here (``listing``, completed,
    whose buyer the holder is) or one registered at intake (its category, 权属证书编号, where, how much, when it ends)
    — and the loan asked of one institution."""
    require(actor, "mortgages.apply")
    now = clock.now()
    today = clock.to_local(now).date()
    point = actor.org_unit if actor.role == Role.POINT_CLERK else None
    if listing is not None:
        right = _traded_right(actor, listing)
        category, cert_no, where, qty, unit = listing.category, right["cert_no"], listing.place, listing.quantity, \
            listing.unit
        right_end, lease = listing.term_end, listing.method is not None and listing.method.name in LEASES
        point = point or listing.point
    else:
        category = db.session.scalar(select(Category).where(Category.code == (category_code or "")))
        if category is None:
            raise MortgageError("请选择权利的交易品种。", "category_code")
        cert_no = _text(right_cert_no, "right_cert_no", "权属证书编号", 60)
        where = _text(location, "location", "坐落", 200)
        try:
            qty = parse_quantity(quantity, field="quantity", label="面积或数量", minimum=0)
        except InputError as exc:
            raise MortgageError(exc.message, "quantity") from None
        if qty <= 0:
            raise MortgageError("面积或数量应大于 0。", "quantity")
        right_end = _date(right_end_date, "right_end_date", "权利到期日")
        lease = bool(obtained_by_lease)
    org = institution(institution_id)
    key = rules.right_key(category.code, cert_no)
    start, end = _date(loan_start, "loan_start", "贷款起始日"), _date(loan_end, "loan_end", "贷款到期日")
    right_facts = rules.Right(category.code, cert_no, right_end, obtained_by_lease=lease,
                              collective=bool(category.collective))
    problem = rules.term_problem(right_facts, start, end, today)
    if problem:
        raise MortgageError(problem, "loan_end")
    asked, appraised = _money(amount, "amount", "申请贷款金额"), _money(appraisal_value, "appraisal_value", "评估价值")
    problem = rules.amount_problem(asked, appraised)
    if problem:
        raise MortgageError(problem, "amount" if "贷款" in problem else "appraisal_value")
    for problem in freedom_problems(key):
        raise MortgageError(problem)
    holder = _holder(actor, holder_name, holder_id_no, holder_mobile)
    m = Mortgage(origin="point" if point is not None and actor.role == Role.POINT_CLERK else "holder", right_key=key,
                 category_id=category.id, listing_id=listing.id if listing is not None else None,
                 right_cert_no=cert_no, location=where, quantity=qty, unit=unit, right_end_date=right_end,
                 obtained_by_lease=lease, point_id=point.id if point is not None else None, institution_id=org.id,
                 amount=asked, loan_start=start, loan_end=end, purpose=_text(purpose, "purpose", "贷款用途", 300, False),
                 appraisal_value=appraised,
                 appraisal_agency=_text(appraisal_agency, "appraisal_agency", "评估机构", 100, False), **holder)
    db.session.add(m)
    db.session.flush()
    record("mortgage.apply", f"申请抵押登记：{m.holder_name} 以 {category.name}（{cert_no}）向{org.name}申请贷款 "
           f"{format_yuan(asked)} 元", obj_type="mortgage", obj_id=m.id,
           after={"right_key": key, "institution": org.code, "amount": asked, "loan_end": end})
    return m


def _traded_right(actor, listing: Listing) -> dict:
    """A right traded here: the listing completed (its 鉴证书 issued) and its buyer the holder (or the point of its
    village applying for the holder)."""
    from exchange.trading.services import deal_for
    if listing.state != "completed":
        raise MortgageError("只有已出具鉴证书的交易才能以受让的权利申请抵押。", "listing_id")
    deal = deal_for(listing)
    if actor.role == Role.PUBLIC and deal.buyer_id != actor.id:
        raise AccessDenied("只能以本人受让的权利申请抵押。")
    if actor.role == Role.POINT_CLERK and (listing.point_id != actor.org_unit_id):
        raise AccessDenied("交易点只能为本村的项目代为申请。")
    from exchange.certificates.services import valid_certificate
    cert = valid_certificate(deal)
    if cert is None:
        raise MortgageError("该交易没有有效的鉴证书。", "listing_id")
    return {"cert_no": cert.cert_no, "deal": deal}


def _holder(actor, name: str, id_no: str, mobile: str) -> dict:
    if actor.role == Role.PUBLIC:
        party = actor.party
        return dict(holder_user_id=actor.id, holder_kind=party.kind if party else "person",
                    holder_name=party.name if party else actor.display_name,
                    holder_id_no=(party.id_number or party.uscc or "") if party else "",
                    holder_mobile=(party.mobile if party else "") or "")
    name = _text(name, "holder_name", "抵押人姓名或名称", 100)
    raw = "".join(str(id_no or "").split()).upper()
    try:
        kind, checked = ("person", check_resident_id(raw)) if raw[:17].isdigit() else ("organisation", check_uscc(raw))
    except IdCheckError as exc:
        raise MortgageError(f"抵押人证件号：{exc}", "holder_id_no") from None
    phone = ""
    if str(mobile or "").strip():
        try:
            phone = check_mobile(str(mobile))
        except IdCheckError as exc:
            raise MortgageError(f"抵押人电话：{exc}", "holder_mobile") from None
    return dict(holder_user_id=None, holder_kind=kind, holder_name=name, holder_id_no=checked, holder_mobile=phone)


def authorise_own(actor, m: Mortgage) -> None:
    if actor.role == Role.PUBLIC and m.holder_user_id == actor.id:
        return
    if actor.role == Role.POINT_CLERK and m.point_id is not None and m.point_id == actor.org_unit_id:
        return
    raise AccessDenied("只能办理本人（或本村代办）的抵押申请。")


def add_material(actor, m: Mortgage, kind: str, upload, filename: str | None = None) -> MortgageMaterial:
    """The applicant's papers (before the center's check), the lender's (contract, release, claim) after."""
    lender_kinds = ("loan_contract", "release", "claim")
    if kind not in MATERIAL_KINDS:
        raise MortgageError("材料类型不正确。", "kind")
    if kind in lender_kinds:
        require(actor, "mortgages.decide", m.institution)
    else:
        authorise_own(actor, m)
        if not m.is_applied:
            raise MortgageError("交易中心已审查，申请材料不能再修改。")
    from exchange.uploads import UploadError, accept_upload
    try:
        stored = accept_upload(upload, filename)
    except UploadError as exc:
        raise MortgageError(str(exc), "file") from None
    row = MortgageMaterial(mortgage=m, kind=kind, filename=stored.filename, storage_key=stored.key,
                           content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                           uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    record("mortgage.material", f"上传抵押材料：{MATERIAL_KINDS[kind]}", obj_type="mortgage", obj_id=m.id,
           after={"kind": kind, "sha256": stored.sha256})
    return row


def required_materials(m: Mortgage) -> list[str]:
    return rules.required_materials(rules.Right(m.category.code, m.right_cert_no, m.right_end_date,
                                                obtained_by_lease=m.obtained_by_lease,
                                                collective=bool(m.category.collective)))


def missing_materials(m: Mortgage) -> list[str]:
    have = {row.kind for row in m.materials}
    return [k for k in required_materials(m) if k not in have]


# --- the center, the institution -----------------------------------------------------------------------------------

def check(reviewer, m: Mortgage, note: str = "") -> Mortgage:
    """The center finds the right free, the term within it and the papers complete: the institution decides next.
    From here the mortgage holds the right (a second application for it is refused)."""
    require(reviewer, "mortgages.review", m.institution)
    today = clock.today_local()
    problems = freedom_problems(m.right_key, except_id=m.id)
    term = rules.term_problem(rules.Right(m.category.code, m.right_cert_no, m.right_end_date), m.loan_start,
                              m.loan_end, today)
    if term:
        problems.append(term)
    missing = [MATERIAL_KINDS[k] for k in missing_materials(m)]
    if missing:
        problems.append("缺少材料：" + "；".join(missing) + "。")
    if problems:
        raise MortgageError(problems[0])
    try:
        with savepoint(db.session):
            MORTGAGE.fire(m, "check", reviewer)
            m.checked_by_id, m.checked_at = reviewer.id, clock.now()
            db.session.flush()
    except IntegrityError:
        raise MortgageError("该权利刚被另一笔抵押申请占用，不能重复抵押。") from None
    record("mortgage.check", f"审查通过，转{m.institution.name}审批：{m.holder_name}（{m.right_cert_no}）",
           obj_type="mortgage", obj_id=m.id, after={"note": _text(note, "note", "审查意见", 500, False)})
    return m


def decide(lender, m: Mortgage, *, approve: bool, contract_no: str = "", loan_amount=None, rate=None,
           note: str = "") -> Mortgage:
    """The institution approves (contract number, amount ≤ asked, annual rate) or refuses with the reason."""
    require(lender, "mortgages.decide", m.institution)
    if approve:
        number = _text(contract_no, "contract_no", "借款合同编号", 60)
        granted = _money(loan_amount, "loan_amount", "批准金额")
        if granted is None or granted <= 0 or granted > m.amount:
            raise MortgageError(f"批准金额应大于 0 且不超过申请金额 {format_yuan(m.amount)} 元。", "loan_amount")
        try:
            from exchange.inputs import parse_percent
            annual = parse_percent(rate, field="rate", label="年利率")
        except InputError as exc:
            raise MortgageError(exc.message, "rate") from None
        MORTGAGE.fire(m, "approve", lender, authorised=True)
        m.loan_contract_no, m.loan_amount, m.loan_rate = number, granted, annual
    else:
        MORTGAGE.fire(m, "refuse", lender, reason=note, authorised=True)
    m.decided_by_id, m.decided_at = lender.id, clock.now()
    m.decision_note = (note or "").strip()
    db.session.flush()
    record("mortgage.approve" if approve else "mortgage.refuse",
           f"{m.institution.name}{'批准' if approve else '不批准'}贷款：{m.holder_name}", obj_type="mortgage", obj_id=m.id,
           after={"contract_no": m.loan_contract_no, "amount": m.loan_amount, "rate": m.loan_rate, "note": note})
    return m


def register(reviewer, m: Mortgage) -> Mortgage:
    """抵押登记: the 抵押登记证明's number; the right is 抵押中."""
    require(reviewer, "mortgages.review", m.institution)
    from exchange.listings.services import next_number
    MORTGAGE.fire(m, "register", reviewer, authorised=True)
    now = clock.now()
    year = clock.to_local(now).year
    m.mortgage_no = f"临农交押〔{year}〕第{next_number('mortgage', year):06d}号"
    m.registered_by_id, m.registered_at = reviewer.id, now
    db.session.flush()
    record("mortgage.register", f"办理抵押登记 {m.mortgage_no}：{m.holder_name}（{m.right_cert_no}）抵押给{m.institution.name}",
           obj_type="mortgage", obj_id=m.id, after={"mortgage_no": m.mortgage_no})
    return m


def release(lender, m: Mortgage, note: str = "") -> Mortgage:
    """解押 on repayment: the right is free again."""
    require(lender, "mortgages.decide", m.institution)
    if not any(row.kind == "release" for row in m.materials):
        raise MortgageError("请先上传解押通知书（还款证明）。", "file")
    MORTGAGE.fire(m, "release", lender, authorised=True)
    m.released_at = clock.now()
    db.session.flush()
    record("mortgage.release", f"解除抵押 {m.mortgage_no}", obj_type="mortgage", obj_id=m.id, after={"note": note})
    return m


def withdraw(actor, m: Mortgage) -> Mortgage:
    authorise_own(actor, m)
    MORTGAGE.fire(m, "withdraw", actor, authorised=True)
    db.session.flush()
    record("mortgage.withdraw", f"撤回抵押申请：{m.holder_name}（{m.right_cert_no}）", obj_type="mortgage", obj_id=m.id)
    return m
