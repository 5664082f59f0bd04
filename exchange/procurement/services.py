"""Procurement projects (招标/采购/招商, issue 18; DESIGN §3.12): the services every way in calls — pages, the API,
the sweeper, ``flask simulate``.

A procurement project is a listing of 交易品种 8 whose method is 招标, 采购 or 招商 (``Listing.is_procurement``), with
its terms in a :class:`~exchange.procurement.models.ProcurementProject`.  It goes the listing's one way — intake by the
village point, 初审 by the town station, the center's review and publication (the terms are checked with the listing:
:func:`terms_problems` is one of ``listings.rules.TERMS_CHECKS``) — and then its own:

1. **Publication** (the listing's ``center_approve``; :func:`_on_listing_transition`): the 开标 time must leave the
   center's minimum bid period (a trading rule, in 工作日); the announcement runs until it, bonds are due by it, and
   the project gets its sealing key pair (:mod:`~exchange.procurement.vault`).
2. **Suppliers** register on the listing like buyers (registrations), are qualified by the center and pay the
   投标保证金 (the listing's ``deposit_amount``) through the same channels and ledger.
3. **Sealed bids** (:func:`submit_bid`, :func:`withdraw_bid`): a supplier whose bond has arrived seals its price and
   documents to the project's public key until the 开标 time; it receives the SHA-256 receipt.  The database holds
   the sealed bytes only (a CHECK keeps the price column empty while sealed).
4. **开标** (:func:`open_project`, the sweeper's item at the 开标 time): the private key is unwrapped — the vault refuses
   before the time — and published; every bid is unsealed, checked against its receipt and published with its
   document.  Too few bids (招标: fewer than 3, 《招标投标法》第二十八条; 采购/招商: none) is 流标.
5. **评标** (:func:`mark_invalid`, :func:`complete_evaluation`): the center marks invalid bids with the reason; the
   ranking is :func:`exchange.procurement.evaluation.evaluate`; candidate 1 becomes the deal under 交易公示.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timezone
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from exchange import clock
from exchange.access import require
from exchange.audit.services import record
from exchange.catalog.models import Category, TransferMethod
from exchange.contracts.services import contract_effective
from exchange.db import lock_row
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.inputs import InputError, check_date, parse_int, parse_money, parse_text
from exchange.ledger import refunds
from exchange.listings import rules as listing_rules
from exchange.listings import services as listings
from exchange.listings.models import Listing
from exchange.listings.workflow import fire as fire_listing
from exchange.listings.workflow import transitioned as listing_transitioned
from exchange.money import format_yuan
from exchange.procurement import evaluation as ev
from exchange.procurement import rules as terms_rules
from exchange.procurement import vault
from exchange.procurement.models import (EVAL_KINDS, KINDS, SPECIALTIES, ProcurementBid, ProcurementBidFile,
                                         ProcurementProject)
from exchange.procurement.states import BID, PROCUREMENT
from exchange.registrations.models import Registration
from exchange.storage import get_storage
from exchange.tradingrules import services as trading_rules
from exchange.uploads import UploadError, check_upload
from exchange.workdays.services import due_after_working_days, due_text, is_workday

SCOPE_MAX, REQUIREMENTS_MAX, CRITERION_MAX, REASON_MAX = 3000, 2000, 30, 200
MAX_FILES = 5
OPENING_HOURS = (time(8, 30), time(17, 30))  # a public opening on a working day, in office hours (Beijing time)
MIN_BIDS = {"招标": 3}  # 《招标投标法》第二十八条: fewer than 3 bidders → 重新招标; 采购/招商: at least one
STALE = "该项目刚被他人修改过，请刷新页面后再试。"


class ProcurementError(ServiceError):
    """A procurement step that cannot be taken now, or a value refused."""


# --- reading ---------------------------------------------------------------------------------------------------------

def project_of(listing: Listing) -> ProcurementProject | None:
    return db.session.scalar(select(ProcurementProject).where(ProcurementProject.listing_id == listing.id))


def method_of(project: ProcurementProject) -> ev.Method:
    """The evaluation method as the announcement publishes it."""
    criteria = tuple(ev.Criterion(c["key"], c["name"], Decimal(c["weight"])) for c in project.criteria)
    return ev.Method(kind=project.eval_kind, direction=project.direction, limit=project.limit_price,
                     price_weight=project.price_weight if project.eval_kind == ev.SCORED else Decimal("0"),
                     criteria=criteria if project.eval_kind == ev.SCORED else (),
                     trim_extremes=project.trim_extremes)


def thresholds() -> terms_rules.Thresholds:
    """The national thresholds of compulsory tendering (a setting: ``PROCUREMENT_THRESHOLDS`` = works, goods,
    services in 元, when the State changes them)."""
    given = current_app.config.get("PROCUREMENT_THRESHOLDS")
    if not given:
        return terms_rules.Thresholds()
    works, goods, services = (Decimal(str(v)) for v in given)
    return terms_rules.Thresholds(works=works, goods=goods, services=services)


def min_bids(project: ProcurementProject) -> int:
    return MIN_BIDS.get(project.mode, 1)


def standing_bid(registration: Registration) -> ProcurementBid | None:
    return db.session.scalar(select(ProcurementBid).where(ProcurementBid.registration_id == registration.id,
                                                          ProcurementBid.state.in_(("sealed", "opened"))))


def bids_of(listing: Listing, *, states=("sealed", "opened")) -> list[ProcurementBid]:
    return list(db.session.scalars(select(ProcurementBid).where(ProcurementBid.listing_id == listing.id,
                                                                ProcurementBid.state.in_(states))
                                   .order_by(ProcurementBid.submitted_at, ProcurementBid.id)))


def earliest_opening(now: datetime | None = None) -> datetime:
    """The earliest 开标 time a project published now may have: the center's bid period (工作日) after now."""
    days = trading_rules.value("procurement_bid_working_days")
    return due_after_working_days(now or clock.now(), days).at


# --- creating and editing (the village point, or the center for a direct application) -------------------------------

def create_project(actor, *, mode: str, title: str, point=None) -> Listing:
    """A new procurement project's draft: a listing of 交易品种 8 by ``mode`` (招标/采购/招商) and its terms row."""
    if mode not in listing_rules.PROCUREMENT_METHODS:
        raise ProcurementError("请选择招标、采购或招商。", "mode")
    category = db.session.scalar(select(Category).where(Category.code == listing_rules.PROCUREMENT_CATEGORY))
    method = None if category is None else db.session.scalar(
        select(TransferMethod).where(TransferMethod.category_id == category.id, TransferMethod.name == mode,
                                     TransferMethod.active.is_(True)))
    if category is None or not category.active or method is None:
        raise ProcurementError(f"交易品种目录中没有启用“{mode}”方式，请联系交易中心管理员。", "mode")
    listing = listings.create_draft(actor, category=category, method=method, title=title, point=point)
    ensure_project(listing)
    return listing


def ensure_project(listing: Listing) -> ProcurementProject:
    """The listing's terms row (created empty for a procurement listing that has none yet)."""
    if not listing.is_procurement:
        raise ProcurementError("该项目不是招标、采购或招商项目。")
    project = project_of(listing)
    if project is None:
        project = ProcurementProject(listing_id=listing.id, listing=listing)
        db.session.add(project)
    _follow_method(project, listing)
    db.session.flush()
    return project


def _follow_method(project: ProcurementProject, listing: Listing) -> None:
    """招商: the collective receives (the best price is the highest; no 工程/货物/服务 kind)."""
    investing = listing.method is not None and listing.method.name == terms_rules.INVEST
    project.direction = "higher" if investing else "lower"
    if investing:
        project.kind = ""


TERMS_FIELDS = ("kind", "budget", "limit_price", "bond", "eval_kind", "price_weight", "criteria", "trim_extremes",
                "specialty", "panel_size", "scope", "requirements", "opens_at")


def save_terms(actor, listing: Listing, **values) -> ProcurementProject:
    """Change a draft's (or a returned project's) terms — the fields given, each parsed and checked; a value wrong in
    itself is refused beside its field, what is merely missing may wait for the submission."""
    listings.require_edit(actor, listing)
    unknown = set(values) - set(TERMS_FIELDS)
    if unknown:
        raise ProcurementError(f"不能修改这些字段：{'、'.join(sorted(unknown))}")
    project = ensure_project(listing)
    before = _terms_snapshot(project, listing)
    try:
        for name, raw in values.items():
            _set_term(project, listing, name, raw)
    except InputError as exc:
        raise ProcurementError(exc.message, exc.field) from None
    _follow_method(project, listing)
    wrong = [(f, m) for f, m, invalid in terms_problems(listing, False, project=project) if invalid and f in values]
    if wrong:
        raise ProcurementError(wrong[0][1], wrong[0][0])
    db.session.flush()
    after = _terms_snapshot(project, listing)
    changes = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    if changes:
        listings.log_event(listing, "edit", actor, "修改招标采购条款：" + "、".join(TERM_LABELS[k] for k in changes))
        record("procurement.terms", f"修改招标采购条款 #{listing.id} {listing.title}", obj_type="listing",
               obj_id=listing.id, before={k: v[0] for k, v in changes.items()},
               after={k: v[1] for k, v in changes.items()})
    return project


TERM_LABELS = {"kind": "项目类别", "budget": "预算金额", "limit_price": "最高限价（招商：最低价）", "bond": "投标保证金",
               "eval_kind": "评标办法", "price_weight": "价格分值", "criteria": "评分因素", "trim_extremes": "去掉最高最低分",
               "specialty": "评标专家专业", "panel_size": "评标委员会人数", "scope": "采购内容", "requirements": "投标人资格要求",
               "opens_at": "投标截止暨开标时间"}


def _terms_snapshot(project: ProcurementProject, listing: Listing) -> dict:
    return {"kind": project.kind, "budget": project.budget, "limit_price": project.limit_price,
            "bond": listing.deposit_amount, "eval_kind": project.eval_kind, "price_weight": project.price_weight,
            "criteria": project.criteria_json, "trim_extremes": project.trim_extremes, "specialty": project.specialty,
            "panel_size": project.panel_size, "scope": project.scope, "requirements": project.requirements,
            "opens_at": project.opens_at}


def _money(raw, field: str) -> Decimal | None:
    if raw is None or str(raw).strip() == "":
        return None
    value = parse_money(raw, field=field, label=TERM_LABELS[field], strict=True)
    if value <= 0 and field != "bond":
        raise InputError(f"{TERM_LABELS[field]}应大于 0。", field)
    if value < 0:
        raise InputError(f"{TERM_LABELS[field]}不能为负数。", field)
    return value


def _long_text(raw, field: str, limit: int) -> str:
    text = str(raw if raw is not None else "")
    from exchange.inputs import has_control
    if has_control(text):
        raise InputError(f"“{TERM_LABELS[field]}”含有不可见的控制字符，请删除后重新提交。", field)
    text = text.strip()
    if len(text) > limit:
        raise InputError(f"{TERM_LABELS[field]}不能超过 {limit} 个字（现在是 {len(text)} 个字）。", field)
    return text


def parse_opening(raw) -> datetime | None:
    """投标截止暨开标时间 from outside: an aware datetime, or Beijing time as ``2027-01-15 09:30`` (also ``T``)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, datetime):
        at = raw if raw.tzinfo else clock.ensure_aware(raw)
    else:
        text = str(raw).strip().replace("T", " ")
        try:
            local = datetime.strptime(text[:16], "%Y-%m-%d %H:%M")
        except ValueError:
            raise InputError("开标时间请按“2027-01-15 09:30”的格式填写（北京时间）。", "opens_at") from None
        if len(text) > 16 and text[16:] not in (":00",):
            raise InputError("开标时间请按“2027-01-15 09:30”的格式填写（北京时间）。", "opens_at")
        at = clock.local_datetime(local.date(), local.hour, local.minute)
    check_date(at, field="opens_at", label="开标时间")
    return at


def _criteria(raw) -> str:
    """The scoring criteria besides the price: a list of {name, weight} (or "name:weight" lines)."""
    if raw is None or raw == "":
        return "[]"
    if isinstance(raw, str):
        items = []
        for line in raw.replace("：", ":").splitlines():
            if line.strip():
                name, _, weight = line.rpartition(":")
                items.append({"name": name, "weight": weight})
        raw = items
    if not isinstance(raw, (list, tuple)) or len(raw) > 10:
        raise InputError("评分因素最多 10 项，每项写名称和分值。", "criteria")
    out, seen = [], set()
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise InputError("评分因素每项须有名称和分值。", "criteria")
        name = parse_text(item.get("name"), field="criteria", label=f"第 {i} 项评分因素的名称",
                          max_length=CRITERION_MAX)
        if name in seen:
            raise InputError(f"评分因素“{name}”重复了。", "criteria")
        seen.add(name)
        weight = parse_money(item.get("weight"), field="criteria", label=f"“{name}”的分值", strict=True)
        if weight <= 0 or weight > 100:
            raise InputError(f"“{name}”的分值应在 0 至 100 分之间。", "criteria")
        out.append({"key": f"c{i}", "name": name, "weight": str(weight)})
    return json.dumps(out, ensure_ascii=False)


def _set_term(project: ProcurementProject, listing: Listing, name: str, raw) -> None:
    if name == "kind":
        value = str(raw or "").strip()
        if value not in ("", *KINDS):
            raise InputError("项目类别只能是工程、货物或服务。", name)
        project.kind = value
    elif name in ("budget", "limit_price"):
        setattr(project, name, _money(raw, name))
    elif name == "bond":
        listing.deposit_amount = _money(raw, name)
    elif name == "eval_kind":
        value = str(raw or "").strip()
        if value not in EVAL_KINDS:
            raise InputError("评标办法只能是最低价法或综合评分法。", name)
        project.eval_kind = value
    elif name == "price_weight":
        project.price_weight = Decimal("0") if raw in (None, "") else parse_money(
            raw, field=name, label="价格分值", strict=True)
        if not Decimal("0") <= project.price_weight <= 100:
            raise InputError("价格分值应在 0 至 100 分之间。", name)
    elif name == "criteria":
        project.criteria_json = _criteria(raw)
    elif name == "trim_extremes":
        project.trim_extremes = bool(raw) and str(raw).lower() not in ("0", "false", "no", "off")
    elif name == "specialty":
        value = str(raw or "").strip()
        if value and value not in SPECIALTIES:
            raise InputError("请从列表中选择评标专家的专业。", name)
        project.specialty = value
    elif name == "panel_size":
        project.panel_size = parse_int(raw if raw not in (None, "") else 3, field=name, label="评标委员会人数",
                                       minimum=3, maximum=9)
        if project.panel_size % 2 == 0:
            raise InputError("评标委员会应为 3 人以上的单数（3、5、7 或 9 人）。", name)
    elif name == "scope":
        project.scope = _long_text(raw, name, SCOPE_MAX)
    elif name == "requirements":
        project.requirements = _long_text(raw, name, REQUIREMENTS_MAX)
    elif name == "opens_at":
        project.opens_at = parse_opening(raw)


def terms_problems(listing: Listing, for_submit: bool, *, project: ProcurementProject | None = None
                   ) -> list[tuple[str, str, bool]]:
    """What is wrong with the project's terms: (field, message, invalid) — ``invalid`` a value wrong in itself,
    else one not given yet.  One of ``listings.rules.TERMS_CHECKS``: the submission and the center's approval refuse
    while any remain; the intake pages list them."""
    if not listing.is_procurement:
        return []
    project = project or project_of(listing)
    if project is None:
        return [("procurement", "请填写招标采购条款：预算、限价、投标保证金、评标办法和开标时间。", False)]
    out: list[tuple[str, str, bool]] = []
    mode = listing.method.name if listing.method else ""
    bond = listing.deposit_amount
    for field, message in terms_rules.problems(mode, project.kind or None, project.budget, project.limit_price, bond,
                                               thresholds()):
        out.append(({"limit": "limit_price"}.get(field, field), message,
                    not message.startswith("请")))  # "请填写…" is not given yet, the rest wrong
    if bond is None or bond <= 0:
        out.append(("bond", "请填写投标保证金（不超过限价的 2%）。", False))
    try:
        method_of(project).check()
    except ev.EvaluationError as exc:
        out.append(("criteria" if project.eval_kind == ev.SCORED else "eval_kind", exc.message, True))
    if project.eval_kind == ev.SCORED and not project.specialty:
        out.append(("specialty", "综合评分法须选择评标专家的专业（从专家库中随机抽取）。", False))
    if project.opens_at is not None:
        local = clock.to_local(project.opens_at)
        if not is_workday(local.date()) or not OPENING_HOURS[0] <= local.time() <= OPENING_HOURS[1]:
            out.append(("opens_at", "开标时间应在工作日的 8:30 至 17:30 之间（北京时间）。", True))
        elif for_submit and listing.state in ("draft", "returned"):
            earliest = earliest_opening()
            if project.opens_at < earliest:
                days = trading_rules.value("procurement_bid_working_days")
                out.append(("opens_at", f"开标时间应不早于 {due_text(earliest)}：投标期从公告发布起不少于 {days} 个工作日，"
                                        "还要留出审核的时间。", True))
    elif for_submit:
        out.append(("opens_at", "请填写投标截止暨开标时间。", False))
    if for_submit and not project.scope:
        out.append(("scope", "请填写采购内容（工程概况、货物或服务的名称和数量，招商条件）。", False))
    if for_submit and not project.requirements:
        out.append(("requirements", "请填写投标人资格要求（如营业执照、资质等级、类似业绩）。", False))
    return out


listing_rules.TERMS_CHECKS.append(terms_problems)


# --- publication (the listing's center_approve) and the listing's other transitions -----------------------------------

@listing_transitioned.connect
def _on_listing_transition(listing, name: str = "", **_) -> None:
    """After the listing's transition and its effects (the announcement numbered and started)."""
    if not getattr(listing, "is_procurement", False):
        return
    if name == "center_approve":
        publish(listing)


def publish(listing: Listing) -> ProcurementProject:
    """The announcement is published (the listing was numbered and its 公告期 started): it runs until the 开标 time,
    the bonds are due by it, and the project gets its sealing key pair.  Refused (the approval with it) when the
    开标 time no longer leaves the center's minimum bid period."""
    project = ensure_project(listing)
    now = clock.now()
    earliest = earliest_opening(now)
    if project.opens_at is None or project.opens_at < earliest:
        days = trading_rules.value("procurement_bid_working_days")
        raise ProcurementError(f"开标时间距发布不足 {days} 个工作日（最早 {due_text(earliest)}），"
                               "请退回采购人修改开标时间后再发布。", "opens_at")
    listing.announce_end_at = project.opens_at
    listing.deposit_deadline_at = project.opens_at
    key = vault.new_project_key(vault.vault_key(current_app.config), listing.project_no, project.opens_at)
    project.public_key, project.wrapped_key = key.public, key.wrapped_private
    record("procurement.publish", f"发布{project.mode}公告：{listing.project_no} {listing.title}，"
           f"开标时间 {clock.to_local(project.opens_at):%Y-%m-%d %H:%M}", obj_type="listing", obj_id=listing.id,
           after={"opens_at": project.opens_at, "limit_price": project.limit_price, "eval_kind": project.eval_kind})
    return project


# --- sealed bids ------------------------------------------------------------------------------------------------------

def _supplier_registration(supplier, listing: Listing) -> Registration | None:
    return db.session.scalar(select(Registration).where(Registration.listing_id == listing.id,
                                                        Registration.buyer_id == supplier.id))


def bid_refusal(supplier, listing: Listing, now: datetime | None = None) -> str | None:
    """Why this supplier cannot submit a bid now (None: it can) — said on the page before the form."""
    now = now or clock.now()
    project = project_of(listing)
    if project is None or not listing.is_procurement:
        return "该项目不是招标、采购或招商项目。"
    if project.state != "bidding" or listing.state != "announced" or project.opens_at is None:
        return "该项目不在投标期内。"
    if now >= project.opens_at:
        return "投标已截止。"
    reg = _supplier_registration(supplier, listing)
    if reg is None:
        return "请先报名参加该项目，资格审核通过并交纳投标保证金后才能投标。"
    if reg.state == "applied":
        return "您的报名正在资格审核中，审核通过并交纳投标保证金后才能投标。"
    if reg.state == "qualified":
        return "您的投标保证金尚未到账，到账后才能投标。"
    if reg.state != "paid":
        return f"您的报名状态为“{reg.state_label}”，不能投标。"
    return None


def submit_bid(supplier, listing: Listing, *, price, files=()) -> ProcurementBid:
    """Seal a supplier's bid (its price and documents) to the project's public key; a bid already standing is
    withdrawn by the new one (重新投标).  Returns the bid: its ``receipt`` is the supplier's proof."""
    listing = lock_row(db.session, Listing, listing.id)  # one at a time against the opening
    now = clock.now()
    refusal = bid_refusal(supplier, listing, now)
    if refusal:
        raise ProcurementError(refusal)
    project = project_of(listing)
    try:
        amount = parse_money(price, field="price", label="投标报价", strict=True)
    except InputError as exc:
        raise ProcurementError(exc.message, "price") from None
    if amount <= 0:
        raise ProcurementError("投标报价应大于 0。", "price")
    if project.limit_price is not None:
        if project.buying and amount > project.limit_price:
            raise ProcurementError(f"投标报价不能高于最高限价 {format_yuan(project.limit_price)} 元。", "price")
        if not project.buying and amount < project.limit_price:
            raise ProcurementError(f"报价不能低于最低价 {format_yuan(project.limit_price)} 元。", "price")
    checked = []
    files = [f for f in (files or ()) if f is not None and getattr(f, "filename", True)]
    if len(files) > MAX_FILES:
        raise ProcurementError(f"投标文件最多 {MAX_FILES} 个，请合并后上传。", "files")
    for upload in files:
        try:
            checked.append(check_upload(upload))
        except UploadError as exc:
            raise ProcurementError(f"投标文件：{exc.message}", "files") from None
    if project.eval_kind == ev.SCORED and not checked:
        raise ProcurementError("综合评分法须上传投标文件（技术方案、商务文件等），供评标委员会评审。", "files")
    reg = _supplier_registration(supplier, listing)
    replaced = standing_bid(reg)
    if replaced is not None:
        _withdraw(replaced, now)
    names = {}
    for seq, f in enumerate(checked, start=1):
        names[f"{seq}-{f.filename}"] = f.sha256
    document = vault.bid_document(listing.project_no, supplier.id, amount, names, now)
    bid = ProcurementBid(listing_id=listing.id, registration_id=reg.id, supplier_id=supplier.id, submitted_at=now,
                         sealed=vault.seal(project.public_key, document, listing.project_no, supplier.id),
                         receipt=vault.receipt(document))
    storage = get_storage()
    for seq, f in enumerate(checked, start=1):
        sealed = vault.seal(project.public_key, _file_plaintext(seq, f), listing.project_no, supplier.id)
        bid.files.append(ProcurementBidFile(seq=seq, sealed_key=storage.save(sealed)))
    db.session.add(bid)
    db.session.flush()
    record("procurement.bid", f"{'重新' if replaced else ''}提交密封投标：{listing.project_no}，{supplier.display_name}，"
           f"回执 {bid.receipt[:16]}…", obj_type="procurement_bid", obj_id=bid.id,
           after={"receipt": bid.receipt, "files": len(checked), "replaces": replaced.id if replaced else None})
    return bid


def _file_plaintext(seq: int, f) -> bytes:
    """A bid file as sealed: a small header (its number, type and name) and its bytes."""
    head = json.dumps({"seq": seq, "name": f.filename, "type": f.content_type}, ensure_ascii=False).encode("utf-8")
    return len(head).to_bytes(4, "big") + head + f.data


def _read_file_plaintext(plain: bytes) -> tuple[dict, bytes]:
    size = int.from_bytes(plain[:4], "big")
    return json.loads(plain[4:4 + size].decode("utf-8")), plain[4 + size:]


def _withdraw(bid: ProcurementBid, now: datetime) -> None:
    BID.fire(bid, "withdraw", None, authorised=True)
    bid.withdrawn_at = now
    db.session.flush()  # the standing index: the old bid is out before the new one is in


def withdraw_bid(supplier, bid: ProcurementBid) -> ProcurementBid:
    """The supplier withdraws its sealed bid before the 开标 time (it may submit again)."""
    listing = lock_row(db.session, Listing, bid.listing_id)
    if bid.supplier_id != supplier.id:
        raise ProcurementError("只能撤回自己的投标。")
    project = project_of(listing)
    now = clock.now()
    if bid.state != "sealed" or project.state != "bidding" or now >= project.opens_at:
        raise ProcurementError("投标已截止或已开标，不能撤回。")
    _withdraw(bid, now)
    record("procurement.withdraw", f"撤回投标：{listing.project_no}，{supplier.display_name}",
           obj_type="procurement_bid", obj_id=bid.id, before={"receipt": bid.receipt})
    return bid


# --- 开标 (the sweeper at the 开标 time) -------------------------------------------------------------------------------

def opening_due_ids(now: datetime) -> list[int]:
    """Projects whose 开标 time has come (a plain read)."""
    return list(db.session.scalars(
        select(ProcurementProject.id).join(Listing, Listing.id == ProcurementProject.listing_id)
        .where(ProcurementProject.state == "bidding", ProcurementProject.opens_at <= now,
               Listing.state == "announced").order_by(ProcurementProject.opens_at, ProcurementProject.id)))


def open_project(project_id: int, now: datetime | None = None) -> bool:
    """开标: publish the project's private key and open every standing bid; 流标 when too few.  False when not due."""
    now = now or clock.now()
    project = db.session.get(ProcurementProject, project_id)
    if project is None:
        return False
    listing = lock_row(db.session, Listing, project.listing_id)
    db.session.refresh(project)
    if project.state != "bidding" or listing.state != "announced" or project.opens_at is None \
            or project.opens_at > now:
        return False
    key = vault.unwrap_private_key(vault.vault_key(current_app.config, create=False), project.wrapped_key,
                                   listing.project_no, project.opens_at, now)
    project.opened_key, project.opened_at = key, now
    storage = get_storage()
    opened = []
    for bid in bids_of(listing, states=("sealed",)):
        _open_bid(bid, key, listing, storage, now)
        opened.append(bid)
    PROCUREMENT.fire(project, "open")
    record("procurement.open", f"开标：{listing.project_no} {listing.title}，{len(opened)} 份投标",
           obj_type="listing", obj_id=listing.id,
           after={"bids": [{"supplier": b.supplier.display_name, "price": b.price, "receipt": b.receipt}
                           for b in opened]})
    needed = min_bids(project)
    if len(opened) < needed:
        why = (f"投标人少于 {needed} 个，依法重新招标（《招标投标法》第二十八条）" if needed > 1
               else "投标截止时没有供应商投标")
        _fail(project, listing, f"开标：{why}")
        return True
    fire_listing(listing, "open_bids", None, data={"bids": len(opened)})
    # a supplier who paid the bond but did not bid gets it back now
    bidders = {b.registration_id for b in opened}
    for reg in db.session.scalars(select(Registration).where(Registration.listing_id == listing.id,
                                                             Registration.state == "paid")):
        if reg.id not in bidders:
            _refund(reg, "no_bid")
    return True


def _open_bid(bid: ProcurementBid, key: bytes, listing: Listing, storage, now: datetime) -> None:
    plain = vault.unseal(key, bid.sealed, listing.project_no, bid.supplier_id)
    if vault.receipt(plain) != bid.receipt:  # cannot happen unless the row was tampered with: said, never hidden
        raise vault.VaultError(f"投标 {bid.id} 的内容与回执不符。")
    doc = vault.read_document(plain)
    BID.fire(bid, "open", None)
    bid.opened_at = now
    bid.price = doc["price"]
    bid.document = plain.decode("utf-8")
    expected = doc.get("documents", {})
    for f in bid.files:
        head, data = _read_file_plaintext(vault.unseal(key, storage.open(f.sealed_key), listing.project_no,
                                                       bid.supplier_id))
        digest = hashlib.sha256(data).hexdigest()
        name = f"{head['seq']}-{head['name']}"
        if expected.get(name) != digest or head["seq"] != f.seq:
            raise vault.VaultError(f"投标 {bid.id} 的第 {f.seq} 个文件与投标文件中的摘要不符。")
        f.open_key, f.filename, f.content_type, f.sha256 = storage.save(data), head["name"], head["type"], digest


def _refund(reg: Registration, reason: str) -> None:
    from exchange.ledger import services as ledger
    if ledger.held(ledger.deposit_account(reg.listing, reg.buyer)) > 0:
        refunds.open_refund(reg, reason)


def _fail(project: ProcurementProject, listing: Listing, reason: str, actor=None) -> None:
    PROCUREMENT.fire(project, "fail", actor, reason=reason, authorised=True)
    fire_listing(listing, "fail", actor, reason=reason)
    refunds.open_for_listing(listing, "lost")


def opening_record(listing: Listing) -> list[ProcurementBid]:
    """The public record of the opening: every opened bid (bidder, price, receipt, document), in submission order;
    [] before the opening."""
    project = project_of(listing)
    if project is None or project.opened_at is None:
        return []
    return bids_of(listing, states=("opened",))


# --- 评标 (最低价法 here; the panel's sheets for 综合评分法) ---------------------------------------------------------------

def _require_evaluating(actor, listing: Listing) -> ProcurementProject:
    require(actor, "procurement.evaluate")
    project = project_of(listing)
    if project is None or project.state != "opened" or listing.state != "trading":
        raise ProcurementError("项目不在评标阶段。")
    return project


def mark_invalid(actor, bid: ProcurementBid, reason) -> ProcurementBid:
    """否决投标: the center (最低价法) marks an opened bid invalid, with the reason (缺少资质证明 …); an empty reason
    makes it valid again."""
    listing = lock_row(db.session, Listing, bid.listing_id)
    _require_evaluating(actor, listing)
    if bid.state != "opened":
        raise ProcurementError("只能对已开标的投标作出认定。")
    from exchange.procurement.scoring import any_signed
    if any_signed(listing):
        raise ProcurementError("评标委员会已有成员签署评分表，有效投标的范围不能再改变。")
    try:
        text = parse_text(reason, field="reason", label="否决理由", max_length=REASON_MAX, required=False)
    except InputError as exc:
        raise ProcurementError(exc.message, "reason") from None
    before = bid.invalid_reason
    bid.invalid_reason = text
    bid.invalid_by_id = actor.id if text else None
    bid.invalid_at = clock.now() if text else None
    record("procurement.invalid" if text else "procurement.valid",
           (f"否决投标：{bid.supplier.display_name}（{text}）" if text else f"撤销否决：{bid.supplier.display_name}"),
           obj_type="procurement_bid", obj_id=bid.id, before={"invalid_reason": before}, after={"invalid_reason": text})
    return bid


def outcome(listing: Listing, sheets=None) -> ev.Outcome:
    project = project_of(listing)
    bids = [ev.Bid(b.id, b.price, b.submitted_at, b.invalid_reason) for b in bids_of(listing, states=("opened",))]
    return ev.evaluate(method_of(project), bids, sheets)


def complete_evaluation(actor, listing: Listing):
    """评标完成: the ranking stored (综合评分法: from the panel's signed sheets), candidate 1 the deal under 交易公示
    (中标候选人公示); no valid bid → 流标."""
    listing = lock_row(db.session, Listing, listing.id)
    project = _require_evaluating(actor, listing)
    sheets = None
    if project.eval_kind == ev.SCORED:
        from exchange.procurement.scoring import signed_sheets
        sheets = signed_sheets(listing)
        if sheets is None:
            raise ProcurementError("综合评分法须等评标委员会全体成员签署评分表。")
    result = outcome(listing, sheets)
    by_id = {b.id: b for b in bids_of(listing, states=("opened",))}
    project.evaluated_at = clock.now()
    project.outcome_json = json.dumps({
        "method": project.eval_kind,
        "ranked": [{"bid": r.bid.id, "registration": by_id[r.bid.id].registration_id, "rank": r.rank,
                    "supplier": by_id[r.bid.id].supplier.display_name, "price": str(r.bid.price),
                    "price_score": None if r.price_score is None else str(r.price_score),
                    "panel_score": None if r.panel_score is None else str(r.panel_score),
                    "total": None if r.total is None else str(r.total),
                    "members": {str(m): str(v) for m, v in r.members.items()}} for r in result.ranked],
        "invalid": [{"bid": b.id, "supplier": by_id[b.id].supplier.display_name, "price": str(b.price),
                     "reason": why} for b, why in result.invalid]}, ensure_ascii=False)
    if not result.ranked:
        _fail(project, listing, "评标：没有有效投标（流标）", actor)
        return None
    PROCUREMENT.fire(project, "evaluate", actor)
    first = by_id[result.ranked[0].bid.id]
    from exchange.trading.services import conclude
    deal = conclude(listing, first.registration, first.price, "procurement", actor, refund_losers=False)
    record("procurement.evaluated", f"评标完成：{listing.project_no}，第一中标候选人 {first.supplier.display_name}，"
           f"{format_yuan(first.price)} 元", obj_type="listing", obj_id=listing.id,
           after={"candidates": [r.bid.id for r in result.candidates]})
    return deal



# --- the winner (定标) and the 中标通知书 ------------------------------------------------------------------------------

def candidates(project: ProcurementProject) -> list[dict]:
    """The 中标候选人 as the evaluation ranked them (at most 3), with their registration ids."""
    if not project.outcome_json:
        return []
    return json.loads(project.outcome_json)["ranked"][:ev.CANDIDATES]


def award_pending(project: ProcurementProject) -> bool:
    """The collective chose a candidate other than the first and the center has not decided yet."""
    return project.state == "evaluated" and project.winner_registration_id is not None and project.awarded_at is None


def _may_award(actor, listing: Listing) -> bool:
    from exchange.access import can
    return bool(listing.transferor_user_id and actor.id == listing.transferor_user_id) or \
        can(actor, "procurement.award", listing.org)


def _require_award_stage(listing: Listing) -> ProcurementProject:
    project = project_of(listing)
    if project is None or project.state != "evaluated" or listing.state != "contract":
        raise ProcurementError("中标候选人公示期满且没有待处理的异议后，采购人才能确定中标人。")
    return project


def award(actor, listing: Listing, registration_id=None, reason: str = "") -> ProcurementProject:
    """The collective confirms the winner after the 公示: candidate 1 (the default) at once; another candidate only
    with the reason (招标投标法实施条例 第五十五条: the first gave up, cannot perform, or was found to have broken the
    rules) and the center's approval (:func:`decide_award`)."""
    listing = lock_row(db.session, Listing, listing.id)
    if not _may_award(actor, listing):
        from exchange.access import AccessDenied
        raise AccessDenied("只有采购人（或代其办理的村交易点、交易中心）可以确定中标人。")
    project = _require_award_stage(listing)
    if award_pending(project):
        raise ProcurementError("已申请确定其他中标候选人，正等待交易中心批准。")
    ranked = candidates(project)
    chosen_id = ranked[0]["registration"] if registration_id in (None, "") else parse_int(
        registration_id, field="registration_id", label="中标候选人")
    chosen = next((c for c in ranked if c["registration"] == chosen_id), None)
    if chosen is None:
        raise ProcurementError("只能从中标候选人中确定中标人。", "registration_id")
    if chosen["rank"] == 1:
        return _execute_award(project, listing, chosen, actor, reason="")
    try:
        why = parse_text(reason, field="reason", label="不确定第一中标候选人的理由", max_length=500)
    except InputError as exc:
        raise ProcurementError(exc.message, "reason") from None
    project.winner_registration_id, project.award_reason, project.awarded_by_id = chosen_id, why, actor.id
    db.session.flush()
    record("procurement.award_request", f"采购人申请确定第 {chosen['rank']} 中标候选人 {chosen['supplier']} 为中标人："
           f"{listing.project_no}（{why}）", obj_type="listing", obj_id=listing.id,
           after={"registration": chosen_id, "rank": chosen["rank"], "reason": why})
    return project


def decide_award(reviewer, listing: Listing, approve: bool, note: str = "") -> ProcurementProject:
    """The center approves (the award is made) or refuses (the collective decides again) a winner other than
    candidate 1."""
    listing = lock_row(db.session, Listing, listing.id)
    require(reviewer, "procurement.approve_award", listing.org)
    project = _require_award_stage(listing)
    if not award_pending(project):
        raise ProcurementError("没有待批准的中标人确定申请。")
    try:
        text = parse_text(note, field="note", label="审批意见", max_length=500, required=not approve)
    except InputError as exc:
        raise ProcurementError(exc.message, "note") from None
    chosen = next(c for c in candidates(project) if c["registration"] == project.winner_registration_id)
    if approve:
        project.award_approved_by_id = reviewer.id
        return _execute_award(project, listing, chosen, None, reason=project.award_reason, approver=reviewer)
    record("procurement.award_refused", f"不同意确定 {chosen['supplier']} 为中标人：{listing.project_no}（{text}）",
           obj_type="listing", obj_id=listing.id, before={"registration": project.winner_registration_id},
           after={"note": text})
    project.winner_registration_id, project.award_reason, project.awarded_by_id = None, "", None
    db.session.flush()
    return project


def _execute_award(project: ProcurementProject, listing: Listing, chosen: dict, actor, *, reason: str,
                   approver=None) -> ProcurementProject:
    from exchange.contracts.services import open_contract
    from exchange.trading.services import SIGNING_WORKING_DAYS, deal_for
    now = clock.now()
    deal = deal_for(listing)
    reg = db.session.get(Registration, chosen["registration"])
    if deal.registration_id != reg.id:  # another candidate: the deal is theirs, at their price
        before = {"registration": deal.registration_id, "buyer": deal.buyer_id, "price": deal.price}
        bid = standing_bid(reg)
        deal.registration_id, deal.buyer_id, deal.price = reg.id, reg.buyer_id, bid.price
        record("deal.winner_changed", f"中标人确定为第 {chosen['rank']} 中标候选人：{listing.project_no}",
               obj_type="deal", obj_id=deal.id, before=before,
               after={"registration": reg.id, "buyer": reg.buyer_id, "price": bid.price, "reason": reason})
    project.winner_registration_id = reg.id
    project.awarded_at = now
    if actor is not None:
        project.awarded_by_id = actor.id
    project.notice_no = "ZB-" + (listing.project_no or str(listing.id)).replace("LXNCJY-", "")
    PROCUREMENT.fire(project, "award", actor or approver, authorised=True)
    deal.contract_due_at = due_after_working_days(now, SIGNING_WORKING_DAYS).at  # 第十六条 from the 中标通知书
    contract = open_contract(deal)
    contract.template = "investment" if not project.buying else f"procurement_{project.kind or 'works'}"
    record("procurement.award", f"确定中标人：{listing.project_no}，{chosen['supplier']}，{format_yuan(deal.price)} 元，"
           f"中标通知书 {project.notice_no}", obj_type="listing", obj_id=listing.id,
           after={"registration": reg.id, "rank": chosen["rank"], "price": deal.price, "notice_no": project.notice_no,
                  "approved_by": getattr(approver, "id", None)})
    return project


# --- the bonds: back to every bidder within 5 days of the contract, with interest -------------------------------------

BOND_REFUND_DAYS = 5  # 招标投标法实施条例 第五十七条: 书面合同签订后 5 日内退还投标保证金及银行同期存款利息
DAY_COUNT = 360       # Chinese banks' day count for deposit interest


def bond_interest(amount: Decimal, paid_at: datetime, until: datetime) -> Decimal:
    """The bank's deposit interest on a bond for the days it is held (a setting: ``BOND_INTEREST_RATE``, the annual
    demand-deposit rate, by default the People's Bank's benchmark 0.35 %)."""
    from decimal import ROUND_HALF_UP
    rate = Decimal(str(current_app.config.get("BOND_INTEREST_RATE", "0.0035")))
    days = max((clock.to_local(until).date() - clock.to_local(paid_at).date()).days, 0)
    return (amount * rate * days / DAY_COUNT).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@contract_effective.connect
def _on_contract_effective(contract, actor=None) -> None:
    if contract.deal.listing.is_procurement:
        refund_bonds(contract.deal.listing)


def refund_bonds(listing: Listing) -> list:
    """Every bond still held on a procurement project goes back — winner included, the bond is not part of any
    price — due within 5 calendar days of the contract's signing, with the deposit interest up to that day."""
    from exchange.ledger import services as ledger
    from exchange.workdays.services import due_after_days
    due = due_after_days(clock.now(), BOND_REFUND_DAYS).at
    opened = []
    for reg in db.session.scalars(select(Registration).where(Registration.listing_id == listing.id,
                                                             Registration.state == "paid").order_by(Registration.id)):
        if ledger.held(ledger.deposit_account(listing, reg.buyer)) <= 0:
            continue
        refund = refunds.open_refund(reg, "bond")
        refund.due_at = due
        refund.interest = bond_interest(refund.amount, reg.paid_at or refund.created_at, due)
        opened.append(refund)
    db.session.flush()
    return opened


# --- 中止 / 重启 / 终结 (第二十三、二十四条): the 开标 time is one of the listing's clocks -------------------------------------

SUSPENDED_BINDING = datetime(9999, 12, 31, tzinfo=timezone.utc)  # what the key is bound to while the project is 中止


def _suspend(listing, actor) -> None:
    """While suspended, the project's key is bound to no opening at all (the sweeper cannot open what 重启 has not
    given a time back to)."""
    project = project_of(listing)
    if project is None or project.state != "bidding" or project.wrapped_key is None:
        return
    project.wrapped_key = vault.rewrap(vault.vault_key(current_app.config, create=False), project.wrapped_key,
                                       listing.project_no, project.opens_at, SUSPENDED_BINDING)


def _restart(listing, actor) -> None:
    """The 开标 time given back (the remaining working days from the restart): the key bound to it again."""
    project = project_of(listing)
    if project is None or project.state != "bidding" or project.wrapped_key is None:
        return
    project.wrapped_key = vault.rewrap(vault.vault_key(current_app.config, create=False), project.wrapped_key,
                                       listing.project_no, SUSPENDED_BINDING, project.opens_at)


def _terminate(listing, actor) -> None:
    project = project_of(listing)
    if project is not None and project.state in PROCUREMENT["cancel"].sources:
        PROCUREMENT.fire(project, "cancel", actor, authorised=True)


def _declare_stage() -> None:
    from exchange import stages

    def rows(listing):
        project = project_of(listing)
        return [project] if project is not None and project.state == "bidding" else []

    stages.declare(stages.Stage(
        "procurement", 15, rows=rows, load=lambda pid: db.session.get(ProcurementProject, pid),
        on_suspend=_suspend, on_restart=_restart, on_terminate=_terminate,
        clocks=(stages.Clock("opens_at", stages.WORKDAYS, "投标截止暨开标时间", lambda p: p.state == "bidding"),)))


_declare_stage()
