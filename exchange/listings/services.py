"""Listing intake, materials, review decisions, publication, queues and search.

Entry points (pages, API, CLI) call these; they authorise (role + org scope, or the direct applicant's
ownership), flush and never commit.  State changes go through :func:`exchange.listings.workflow.fire`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from exchange import clock
from exchange.access import AccessDenied, can, require, scope_clause
from exchange.accounts.models import Role
from exchange.audit.services import record
from exchange.catalog.data import ACQUISITIONS
from exchange.catalog.models import Category, TransferMethod
from exchange.catalog.services import needs_acquisition
from exchange.db import savepoint
from exchange.extensions import db
from exchange.idcheck import IdCheckError, check_mobile
from exchange.inputs import InputError, parse_money, parse_quantity
from exchange.listings import rules
from exchange.listings.models import (OPINION_VERDICTS, Listing, ListingEvent, ListingMaterial, ProjectCounter,
                                      StationOpinion)
from exchange.listings.workflow import PUBLIC_STATES, STATE_LABELS, WorkflowError, fire, log_event
from exchange.money import MAX_AMOUNT
from exchange.orgs.models import OrgKind, OrgUnit
from exchange.tradingrules import services as trading_rules
from exchange.workdays.services import due_after_working_days, due_at_local_time
from exchange.errors import ServiceError

EDITABLE_STATES = ("draft", "returned")

# Fields a form or API may set on a draft; everything else is set by the workflow.
EDITABLE_FIELDS = {
    "title", "location", "boundaries", "quantity", "unit", "current_use", "description", "right_cert_no",
    "right_end_date", "term_start", "term_end", "price_mode", "floor_unit_price", "floor_price", "price_basis",
    "show_floor_price", "appraisal_value", "appraisal_agency", "appraisal_report_no", "transferor_kind",
    "transferor_name", "transferor_id_no", "transferor_mobile", "account_name", "account_bank", "account_no", "account_holder_id_no",
    "entrusted", "agent_name", "agent_id_no", "agent_mobile", "decision_type", "decision_date", "reps_total",
    "reps_for", "buyer_conditions", "buyer_restriction", "restriction_note", "deposit_amount", "announce_days",
    "trading_method", "bid_increment", "obtained_by",
}
MONEY_FIELDS = {"floor_unit_price", "floor_price", "appraisal_value", "deposit_amount", "bid_increment"}
# numbers checked by rules.checks (the ID checksums, a mobile's 11 digits) rather than cut or refused by their length
CHECKED_NUMBERS = {"transferor_id_no", "account_holder_id_no", "agent_id_no", "transferor_mobile", "agent_mobile"}
POSITIVE_MONEY_FIELDS = {"floor_price", "appraisal_value"}  # CHECK (… > 0) in the table
ANNOUNCE_DAYS = (1, 60)  # CHECK (announce_days BETWEEN 1 AND 60)
TEXT_LIMITS = {"title": 120, "location": 200, "boundaries": 300, "current_use": 300, "description": 5000,
               "right_cert_no": 60, "price_basis": 300, "appraisal_agency": 100, "appraisal_report_no": 60,
               "transferor_name": 100, "transferor_id_no": 18, "transferor_mobile": 11, "account_name": 100,
               "account_bank": 100, "account_no": 40, "account_holder_id_no": 18, "agent_name": 100, "agent_id_no": 18, "agent_mobile": 11,
               "decision_type": 40, "buyer_conditions": 3000, "restriction_note": 300, "unit": 10}


class ListingError(ServiceError):
    """A rule of this domain was not met."""


class InvalidValues(ListingError):
    """Values just entered that are wrong in themselves (:func:`rules.invalid_values`): each with its field, so a form
    shows every one beside its field at once (``errors``: [(field, words)]) and keeps what was typed."""

    def __init__(self, found: list):
        super().__init__(" ".join(p.message for p in found), field=found[0].field)
        self.errors = [(p.field, p.short) for p in found]


# --- authorisation ------------------------------------------------------------------------------

def is_owner(user, listing: Listing) -> bool:
    return (user is not None and getattr(user, "is_authenticated", False) and user.role == Role.PUBLIC
            and listing.transferor_user_id == user.id)


def can_view(user, listing: Listing) -> bool:
    if is_owner(user, listing):
        return True
    return can(user, "listings.view", listing.org)


def require_view(user, listing: Listing) -> None:
    if not can_view(user, listing):
        if user is not None and getattr(user, "is_staff", False):
            require(user, "listings.view", listing.org)
        raise AccessDenied("您没有权限查看该项目。")


def may_edit(user, listing: Listing) -> bool:
    """Who may edit this listing at all, whatever its state: its own transferor, or the staff of its unit (a
    village clerk not a transferor's direct application)."""
    if is_owner(user, listing):
        return True
    if listing.origin == "direct" and getattr(user, "role", None) == Role.POINT_CLERK:
        return False
    return can(user, "listings.edit", listing.org)


def can_edit(user, listing: Listing) -> bool:
    return listing.state in EDITABLE_STATES and may_edit(user, listing)


def authorise_edit(user, listing: Listing) -> None:
    """Who asks first: a caller who may never edit this listing is refused before its state is looked at."""
    if not may_edit(user, listing):
        if getattr(user, "is_staff", False):
            require(user, "listings.edit", listing.org)
        raise AccessDenied("您没有权限修改该项目。")


def require_edit(user, listing: Listing) -> None:
    authorise_edit(user, listing)
    if listing.state not in EDITABLE_STATES:
        raise ListingError(f"项目当前状态为“{STATE_LABELS[listing.state]}”，不能修改。")


def authorise_create(actor) -> None:
    """Who may open a listing at all: a village clerk, the center's reviewer, or a transferor (public account)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active or actor.role not in (
            Role.POINT_CLERK, Role.PUBLIC, Role.CENTER_REVIEWER):
        raise AccessDenied("只有交易点信息员、交易中心审核员或转让方本人可以新建挂牌项目。")


def authorise_station_review(actor, listing: Listing) -> None:
    """The station's review of a listing of its town (初审, its opinion asked by the center)."""
    require(actor, "listings.station_review", listing.org)


def authorise_center_review(actor, listing: Listing) -> None:
    """The center's review of a listing (its decision, asking the station's opinion)."""
    require(actor, "listings.center_review", listing.org)


# --- drafts -------------------------------------------------------------------------------------

def _location_for(actor, point: OrgUnit | None, station: OrgUnit | None) -> tuple[OrgUnit, OrgUnit | None]:
    if point is not None:
        if point.kind != OrgKind.POINT:
            raise ListingError("请选择项目所在的村（社区）交易点。", field="point_id")
        station = point.parent
    if station is None or station.kind != OrgKind.STATION:
        raise ListingError("请选择项目所在的镇（街道）。", field="station_id")
    if actor.role != Role.PUBLIC:  # another town's unit: refused before anything of it is said
        require(actor, "listings.edit", point or station)
    if not station.active or (point is not None and not point.active):
        raise ListingError("所选交易站或交易点已停用。", field="point_id")
    return station, point


def create_draft(actor, *, category: Category, method: TransferMethod | None = None, title: str = "",
                 point: OrgUnit | None = None, station: OrgUnit | None = None, **fields) -> Listing:
    """A point clerk drafts for their village; a transferor (public) or the center applies directly."""
    authorise_create(actor)
    if actor.role == Role.POINT_CLERK:
        point = point or actor.org_unit
        origin = "point"
    else:
        origin = "direct"
    station, point = _location_for(actor, point, station)  # staff: within their scope
    unit = point or station
    if category is None or not category.active:
        raise ListingError("请选择交易品种。", field="category_id")
    title = (title or "").strip()
    if len(title) > rules.TITLE_MAX:  # said, never cut
        raise ListingError(f"项目名称不能超过 {rules.TITLE_MAX} 个字（现在是 {len(title)} 个字），请精简。", field="title")
    listing = Listing(origin=origin, category=category, method=method or category.active_methods()[0],
                      title=title, station=station, point=point, org_path=unit.path,
                      quantity=Decimal("1"), announce_days=category.announce_days, created_by_id=actor.id,
                      buyer_restriction="members" if category.restricts_buyers else "none",
                      transferor_user_id=actor.id if actor.role == Role.PUBLIC else None)
    if actor.role == Role.PUBLIC and actor.party is not None:
        party = actor.party
        listing.transferor_kind = "household" if party.kind == "person" else (
            "collective" if party.org_type == "collective" else "enterprise")
        listing.transferor_name = party.name
        listing.transferor_id_no = party.id_number or party.uscc or ""
        listing.transferor_mobile = party.mobile
    db.session.add(listing)
    _apply(listing, fields)
    if not needs_acquisition(listing.category):
        listing.obtained_by = ""
    _derive_trading_method(listing)
    _refuse_invalid(listing, fields)
    db.session.flush()
    log_event(listing, "create", actor, "新建挂牌项目草稿")
    record("listing.create", f"新建挂牌项目草稿 #{listing.id} {listing.title}", obj_type="listing", obj_id=listing.id,
           after={"category": category.code, "station": station.code, "point": point.code if point else None})
    return listing


def update_draft(actor, listing: Listing, *, category: Category | None = None, method: TransferMethod | None = None,
                 **fields) -> dict:
    """Change a draft (or a returned listing); returns the changed fields {name: (old, new)}."""
    require_edit(actor, listing)
    before = {f: getattr(listing, f) for f in EDITABLE_FIELDS}
    before["category"] = listing.category.code
    before["method"] = listing.method.name
    if category is not None and category.id != listing.category_id:
        if not category.active:
            raise ListingError("该交易品种已停用。", field="category_id")
        listing.category = category
        listing.announce_days = max(listing.announce_days, category.announce_days)
        if category.restricts_buyers:
            listing.buyer_restriction = "members"
    if method is not None:
        listing.method = method
    _apply(listing, fields)
    if not needs_acquisition(listing.category):
        listing.obtained_by = ""  # asked of 四荒 only (第九条 3, 第十条)
    _derive_trading_method(listing)
    # a value wrong in itself (a bad ID checksum, a 7-digit phone …) is refused where it is entered, by the same
    # checks the submission runs (rules.checks); what is merely not given yet may wait in the draft
    entered = set(fields) | ({"category_id"} if category is not None else set()) | (
        {"method_id"} if method is not None else set())
    _refuse_invalid(listing, entered)
    db.session.flush()
    after = {f: getattr(listing, f) for f in EDITABLE_FIELDS}
    after["category"] = listing.category.code
    after["method"] = listing.method.name
    changes = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    if changes:
        log_event(listing, "edit", actor, "修改：" + "、".join(_label(k) for k in sorted(changes)),
                  data={k: [str(v[0]) if v[0] is not None else None, str(v[1]) if v[1] is not None else None]
                        for k, v in changes.items()})
        record("listing.edit", f"修改挂牌项目 #{listing.id}", obj_type="listing", obj_id=listing.id,
               before={k: v[0] for k, v in changes.items()}, after={k: v[1] for k, v in changes.items()})
    return changes


def _derive_trading_method(listing: Listing) -> None:
    """交易品种 8 by 招标/采购/招商 is a procurement project (sealed bids, opened online: exchange.procurement); the
    way follows the method and is never chosen apart from it.  A listing that stops being one goes back to 网络竞价."""
    if rules.is_procurement_method(listing.category, listing.method):
        listing.trading_method = "procurement"
        listing.floor_price = listing.floor_unit_price = None  # the terms keep the limit; there is no 底价
        listing.price_mode = "total"
        listing.transferor_kind = "collective"
    elif listing.trading_method == "procurement":
        listing.trading_method = "online_bidding"


def _refuse_invalid(listing: Listing, entered) -> None:
    """Refuse the wrong values among the fields just ``entered`` (before anything is flushed)."""
    with db.session.no_autoflush:
        wrong = rules.invalid_values(listing, entered)
    if wrong:
        raise InvalidValues(wrong)


def _apply(listing: Listing, fields: dict) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ListingError(f"不能修改这些字段：{'、'.join(sorted(unknown))}")
    for name, value in fields.items():
        if name in MONEY_FIELDS:
            if value in (None, ""):
                value = None
            else:
                try:
                    value = parse_money(value, field=name, label=_label(name), strict=True)
                except InputError as exc:
                    raise ListingError(exc.message, field=name) from None
                if value < 0:
                    raise ListingError(f"{_label(name)}不能为负数。", field=name)
                if value == 0 and name in POSITIVE_MONEY_FIELDS:
                    raise ListingError(f"{_label(name)}应大于 0。", field=name)
        elif name == "quantity":
            try:
                value = parse_quantity(value, field=name, label=_label(name))
            except InputError as exc:
                raise ListingError(exc.message, field=name) from None
            if value <= 0:
                raise ListingError("数量应大于 0。", field=name)
        elif name in ("reps_total", "reps_for", "announce_days"):
            if value in (None, ""):
                value = None if name != "announce_days" else listing.category.announce_days
            else:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise ListingError(f"{_label(name)}应为整数。", field=name) from None
                if value < 0 or value > 100000:
                    raise ListingError(f"{_label(name)}超出范围。", field=name)
                if name == "announce_days" and not ANNOUNCE_DAYS[0] <= value <= ANNOUNCE_DAYS[1]:
                    raise ListingError(f"公告期为 {ANNOUNCE_DAYS[0]}–{ANNOUNCE_DAYS[1]} 个工作日。", field=name)
        elif name in ("right_end_date", "term_start", "term_end", "decision_date"):
            if value in (None, ""):
                value = None
            elif isinstance(value, str):
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    raise ListingError(f"{_label(name)}格式应为 YYYY-MM-DD。", field=name) from None
        elif name in ("show_floor_price", "entrusted"):
            value = bool(value)
        elif name in CHECKED_NUMBERS:
            # 证件号 and phones: blanks dropped (a phone also its hyphens and +86); whether the number is right is for
            # rules.checks to say (its own words, beside the field) before anything is written
            value = "".join((value or "").split()).upper()
            if name in ("transferor_mobile", "agent_mobile"):
                value = value.replace("-", "")
                try:
                    value = check_mobile(value)
                except IdCheckError:
                    pass
        elif name in TEXT_LIMITS:
            value = (value or "").strip()
            if len(value) > TEXT_LIMITS[name]:
                raise ListingError(f"{_label(name)}不能超过 {TEXT_LIMITS[name]} 个字（现在是 {len(value)} 个字）。",
                                   field=name)
        if name == "price_mode" and value not in rules.PRICE_MODES:
            raise ListingError("计价方式不正确。", field=name)
        if name == "transferor_kind" and value not in rules.TRANSFEROR_KINDS:
            raise ListingError("转让方类型不正确。", field=name)
        if name == "trading_method" and (value not in rules.TRADING_METHODS or value == "procurement"):
            raise ListingError("交易方式不正确。", field=name)
        if name == "buyer_restriction" and value not in ("none", "members"):
            raise ListingError("受让限制不正确。", field=name)
        if name == "obtained_by":
            value = (value or "").strip() if isinstance(value, str) or value is None else value
            if value not in ("", *ACQUISITIONS):
                raise ListingError("取得方式不正确。", field=name)
        setattr(listing, name, value)
    if listing.reps_for is not None and listing.reps_total is not None and listing.reps_for > listing.reps_total:
        raise ListingError("同意人数不能多于代表总人数。", field="reps_for")
    # what the table's CHECKs would refuse, refused first with the field it concerns
    if listing.term_start and listing.term_end and listing.term_start >= listing.term_end:
        raise ListingError("流转结束日期应晚于开始日期。", field="term_end")
    # derived: total price from the unit price; default deposit as a share of the price
    if listing.price_mode == "per_unit_year":
        listing.floor_price = _computed_floor_price(listing)
    if listing.deposit_amount is None and listing.floor_price:
        rate = Decimal(str(current_app.config.get("DEPOSIT_RATE", "0.10")))
        listing.deposit_amount = (listing.floor_price * rate).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def _computed_floor_price(listing: Listing) -> Decimal | None:
    """Unit price × quantity × years of the term, refused when it is not a positive amount that fits."""
    if listing.term_start and listing.term_end and rules.term_years(listing.term_start, listing.term_end) <= 0:
        raise ListingError("按年计价的，流转期限至少应为一个月（否则算出的底价为 0）。", field="term_end")
    try:
        price = rules.computed_floor_price(listing)
    except InvalidOperation:  # beyond the decimal context's precision: far beyond any money column
        price = MAX_AMOUNT + 1
    if price is None:
        return None
    if price > MAX_AMOUNT:
        raise ListingError("按单价 × 数量 × 年限算出的底价超出范围，请检查单价和数量。", field="floor_unit_price")
    if price <= 0:
        raise ListingError("按单价 × 数量 × 年限算出的底价为 0，请检查单价和数量。", field="floor_unit_price")
    return price


FIELD_LABELS = {
    "category": "交易品种", "method": "流转方式",
    "title": "项目名称", "location": "坐落", "boundaries": "四至", "quantity": "数量", "unit": "单位",
    "current_use": "利用现状", "description": "项目说明", "right_cert_no": "权证编号", "right_end_date": "权利到期日",
    "term_start": "流转开始日期", "term_end": "流转结束日期", "price_mode": "计价方式", "floor_unit_price": "单价",
    "floor_price": "底价", "price_basis": "作价依据", "show_floor_price": "公开底价", "appraisal_value": "评估值",
    "appraisal_agency": "评估机构", "appraisal_report_no": "评估报告编号", "transferor_kind": "转让方类型",
    "transferor_name": "转让方名称", "transferor_id_no": "转让方证件号", "transferor_mobile": "转让方电话",
    "account_name": "收款户名", "account_bank": "开户行", "account_no": "收款账号", "account_holder_id_no": "收款账户证件号", "entrusted": "委托办理",
    "agent_name": "受托人", "agent_id_no": "受托人证件号", "agent_mobile": "受托人电话", "decision_type": "决策会议",
    "decision_date": "决策日期", "reps_total": "代表总数", "reps_for": "同意人数", "buyer_conditions": "受让条件",
    "buyer_restriction": "受让限制", "restriction_note": "限制说明", "deposit_amount": "保证金",
    "announce_days": "公告期", "trading_method": "交易方式", "bid_increment": "加价幅度", "obtained_by": "取得方式",
}


def _label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


# --- materials ----------------------------------------------------------------------------------

def add_material(actor, listing: Listing, kind: str, upload, filename: str | None = None,
                 public: bool | None = None) -> ListingMaterial:
    require_edit(actor, listing)
    if kind not in rules.MATERIAL_KINDS:
        raise ListingError("材料类型不正确。", field="kind")
    from exchange.uploads import UploadError, accept_upload
    try:
        stored = accept_upload(upload, filename)
    except UploadError as exc:
        raise ListingError(str(exc), field="file") from None
    material = ListingMaterial(listing=listing, kind=kind, filename=stored.filename, storage_key=stored.key,
                               content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                               public=rules.MATERIAL_KINDS[kind].public if public is None else bool(public),
                               uploaded_by_id=actor.id, uploaded_at=clock.now())
    db.session.add(material)
    db.session.flush()
    log_event(listing, "material_add", actor, f"上传{rules.MATERIAL_KINDS[kind].label}：{stored.filename}")
    record("listing.material_add", f"项目 #{listing.id} 上传材料 {stored.filename}", obj_type="listing",
           obj_id=listing.id, after={"kind": kind, "sha256": stored.sha256, "size": stored.size})
    return material


def remove_material(actor, material: ListingMaterial) -> None:
    listing = material.listing
    require_edit(actor, listing)
    log_event(listing, "material_remove", actor, f"删除材料：{material.filename}")
    record("listing.material_remove", f"项目 #{listing.id} 删除材料 {material.filename}", obj_type="listing",
           obj_id=listing.id, before={"kind": material.kind, "sha256": material.sha256})
    listing.materials.remove(material)
    db.session.flush()


def can_download(user, material: ListingMaterial) -> bool:
    listing = material.listing
    if material.public and listing.state in PUBLIC_STATES:
        return True
    return can_view(user, listing)


# --- review ---------------------------------------------------------------------------------------

CENTER_CHECKLIST = {
    "ownership": "权属清晰（已查询产权，权属无争议）",
    "qualification": "出让方资格合法",
    "planning": "符合土地规划和用途管制",
    "decision": "民主决策程序合规（集体资产）或转让方本人意愿真实（个人产权）",
}


def submit(actor, listing: Listing) -> ListingEvent:
    return fire(listing, "submit", actor)


def station_decide(actor, listing: Listing, passed: bool, note: str = "") -> ListingEvent:
    return fire(listing, "station_pass" if passed else "station_return", actor, reason=note)


def center_decide(actor, listing: Listing, decision: str, checklist: dict[str, dict] | None = None,
                  note: str = "") -> ListingEvent:
    """``decision``: approve / return / reject.  Approval needs every checklist item passed and the town station's
    part in the review (第十四条, :func:`station_problems`); over the station's disagreement, the reasons why."""
    authorise_center_review(actor, listing)  # who may not decide learns that first
    checklist = checklist or {}
    clean = {}
    for key, label in CENTER_CHECKLIST.items():
        item = checklist.get(key) or {}
        note_text = (item.get("note") or "").strip()
        if len(note_text) > 300:  # said, never cut (the form says it first)
            raise WorkflowError(f"“{label}”的说明不能超过 300 个字（现在是 {len(note_text)} 个字）。")
        clean[key] = {"label": label, "ok": bool(item.get("ok")), "note": note_text}
    if decision == "approve":
        failed = [v["label"] for v in clean.values() if not v["ok"]]
        if failed:
            raise WorkflowError("审核要点未全部通过，不能发布：" + "；".join(failed) + "。请退回修改或不予受理。")
        opinion = station_opinion(listing)
        if opinion is not None and opinion.verdict == "disagree" and not (note or "").strip():
            raise WorkflowError(f"{opinion.station.name}不同意该项目（{opinion.reasons}）。如仍审核通过，"
                                "请在审核意见中写明理由。")
        data = {"checklist": clean}
        if opinion is not None:
            data["station_opinion"] = _opinion_data(opinion)
        return fire(listing, "center_approve", actor, reason=note, data=data)
    if decision == "return":
        return fire(listing, "center_return", actor, reason=note, data={"checklist": clean})
    if decision == "reject":
        return fire(listing, "center_reject", actor, reason=note, data={"checklist": clean})
    raise WorkflowError("审核结论不正确。")


# --- 会同交易站 (第十四条): the town station's part in every review -------------------------------------------------------

SUBMISSIONS = ("submit", "relist_submit")


def current_submission(listing: Listing) -> ListingEvent | None:
    """The event that began the review round under way (the latest submission)."""
    last = None
    for e in listing.events:
        if e.action in SUBMISSIONS:
            last = e
    return last


def _round_events(listing: Listing) -> list[ListingEvent]:
    """The listing's events since its latest submission (that one included)."""
    events = list(listing.events)
    for i in range(len(events) - 1, -1, -1):
        if events[i].action in SUBMISSIONS:
            return events[i:]
    return []


def station_passed(listing: Listing) -> ListingEvent | None:
    """The station's 初审 pass in the round under way (a listing from a village point)."""
    return next((e for e in _round_events(listing) if e.action == "station_pass"), None)


def station_opinion(listing: Listing) -> StationOpinion | None:
    """The station's opinion — or the record that it could not be had — for the submission under review."""
    submission = current_submission(listing)
    if submission is None or submission.id is None:
        return None
    return db.session.scalar(select(StationOpinion).where(StationOpinion.listing_id == listing.id,
                                                          StationOpinion.submission_id == submission.id))


def _station_took_part(listing: Listing) -> bool:
    """The station's 初审 pass or its opinion in this round; a relisting after 流拍 (new 公告 of the same right,
    re-submitted by the center) carries the part the station took in the review of the listing it repeats."""
    seen: set[int] = set()
    while listing is not None and listing.id not in seen:
        seen.add(listing.id)
        if station_passed(listing) is not None or station_opinion(listing) is not None:
            return True
        if not listing.relisted_from_id:
            return False
        listing = db.session.get(Listing, listing.relisted_from_id)
    return False


def station_problems(listing: Listing) -> list[str]:
    """Why the center cannot yet approve for want of the station (第十四条); empty when the station took part."""
    if _station_took_part(listing):
        return []
    return [f"交易中心须会同{listing.station.name}审查（第十四条）：该项目未经交易站初审，请征求交易站意见；"
            "交易站确实无法出具意见的，记录原因后方可审核通过。"]


def request_station_opinion(actor, listing: Listing, question: str) -> ListingEvent:
    """The center asks the town station for its opinion (a direct application; or any question on a listing)."""
    authorise_center_review(actor, listing)
    if listing.state != "center_review":
        raise WorkflowError("只有审核中的项目可以征求交易站意见。")
    if station_opinion(listing) is not None:
        raise WorkflowError("交易站已就本次提交出具意见，无需再次征求。")
    if pending_opinion(listing) is not None:
        raise WorkflowError("已征求交易站意见，正在等待回复。")
    question = (question or "").strip()
    if not question:
        raise WorkflowError("请写明需要交易站核实的事项。")
    if len(question) > 1000:
        raise WorkflowError("需要核实的事项不能超过 1000 个字。")
    event = log_event(listing, "opinion_requested", actor, question, data={"station": listing.station.code})
    db.session.flush()
    record("listing.opinion_requested", f"就项目 #{listing.id} 征求{listing.station.name}意见", obj_type="listing",
           obj_id=listing.id, after={"question": question})
    return event


def give_station_opinion(actor, listing: Listing, reasons: str, verdict: str | None = None) -> StationOpinion:
    """The station reviewer of the listing's town gives its opinion (第十四条): ``verdict`` agree / disagree, with the
    reasons (what it checked, what it found).  Once per submission."""
    authorise_station_review(actor, listing)
    if listing.state != "center_review":
        raise WorkflowError("只有交易中心审核中的项目可以出具交易站意见。")
    if station_opinion(listing) is not None:
        raise WorkflowError("交易站已就本次提交出具意见（或已记录无法取得意见的原因）。")
    if station_passed(listing) is not None and pending_opinion(listing) is None:
        raise WorkflowError("该项目已经本站初审通过，交易中心没有征求意见。")
    if verdict not in ("agree", "disagree"):
        raise WorkflowError("请选择“同意”或“不同意”。")
    reasons = (reasons or "").strip()
    if not reasons:
        raise WorkflowError("请写明意见的理由：核实了哪些情况（权属、四至、利用现状、有无纠纷等），结论是什么。")
    if len(reasons) > 1000:
        raise WorkflowError("意见不能超过 1000 个字。")
    return _record_opinion(actor, listing, verdict, reasons, "opinion_given",
                           f"{listing.station.name}意见：{OPINION_VERDICTS[verdict]}。{reasons}")


def record_opinion_unavailable(actor, listing: Listing, reason: str) -> StationOpinion:
    """The center reviewer records why the station's opinion could not be had, after asking for it (第十四条)."""
    authorise_center_review(actor, listing)
    if listing.state != "center_review":
        raise WorkflowError("只有审核中的项目可以记录交易站意见的情况。")
    if station_opinion(listing) is not None:
        raise WorkflowError("交易站已就本次提交出具意见（或已记录无法取得意见的原因）。")
    if pending_opinion(listing) is None:
        raise WorkflowError("请先征求交易站意见；交易站确实无法出具意见的，再记录原因。")
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("请写明未能取得交易站意见的原因（如：多次联系未回复、交易站暂无工作人员）。")
    if len(reason) > 1000:
        raise WorkflowError("原因不能超过 1000 个字。")
    return _record_opinion(actor, listing, "unavailable", reason, "opinion_unavailable",
                           f"未能取得{listing.station.name}意见：{reason}")


def _record_opinion(actor, listing: Listing, verdict: str, reasons: str, action: str, note: str) -> StationOpinion:
    submission = current_submission(listing)
    if submission is None:
        raise WorkflowError("该项目尚未提交审核。")
    opinion = StationOpinion(listing=listing, submission_id=submission.id, verdict=verdict, reasons=reasons,
                             station_id=listing.station_id, given_by_id=actor.id,
                             given_by_name=f"{actor.display_name}（{actor.role_label}）", given_at=clock.now())
    db.session.add(opinion)
    db.session.flush()
    opinion.station = listing.station
    log_event(listing, action, actor, note, data=_opinion_data(opinion))
    db.session.flush()
    record(f"listing.{action}", f"项目 #{listing.id}：{note}", obj_type="listing", obj_id=listing.id,
           after=_opinion_data(opinion))
    return opinion


def _opinion_data(opinion: StationOpinion) -> dict:
    return {"station": opinion.station.code if opinion.station else None, "verdict": opinion.verdict,
            "verdict_label": OPINION_VERDICTS[opinion.verdict], "reasons": opinion.reasons,
            "given_by": opinion.given_by_name, "given_at": opinion.given_at.isoformat() if opinion.given_at else None,
            "submission_id": opinion.submission_id}


def pending_opinion(listing: Listing) -> ListingEvent | None:
    """The center's request for the station's opinion in this round, while it has no answer."""
    if listing.state != "center_review":
        return None
    asked = None
    for e in _round_events(listing):
        if e.action == "opinion_requested":
            asked = e
        elif e.action in ("opinion_given", "opinion_unavailable"):
            asked = None
    return asked


# --- publication ---------------------------------------------------------------------------------

def next_number(kind: str, year: int) -> int:
    """Gap-free counter: the increment commits or rolls back with the caller's transaction."""
    stmt = (update(ProjectCounter).where(ProjectCounter.kind == kind, ProjectCounter.year == year)
            .values(last_no=ProjectCounter.last_no + 1).returning(ProjectCounter.last_no)
            .execution_options(synchronize_session=False))
    n = db.session.execute(stmt).scalar()
    if n is not None:
        return n
    try:
        with savepoint(db.session):
            db.session.add(ProjectCounter(kind=kind, year=year, last_no=1))
        return 1
    except Exception:  # another transaction created this year's row first: use it
        n = db.session.execute(stmt).scalar()
        if n is None:
            raise
        return n


def give_intake_no(listing: Listing) -> None:
    """受理编号 at the first submission (LXSL-2026-000123, gap-free per year) and the random key of the public progress
    page (the 受理回执's QR code): the number alone, printed on paper, opens nothing."""
    if listing.intake_no:
        return
    import secrets
    year = clock.to_local(clock.now()).year
    listing.intake_no = f"LXSL-{year}-{next_number('intake', year):06d}"
    listing.progress_key = "".join(secrets.choice(PROGRESS_KEY_ALPHABET) for _ in range(8))


PROGRESS_KEY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone


def start_announcement(listing: Listing) -> None:
    """Number the listing and start its 公告期 (effect of center_approve)."""
    now = clock.now()
    year = clock.to_local(now).year
    listing.project_no = f"LXNCJY-{year}-{next_number('listing', year):06d}"
    due = due_after_working_days(now, listing.announce_days)
    listing.published_at = now
    listing.announce_start_at = now
    listing.announce_end_at = due.at
    cutoff = trading_rules.value("deposit_cutoff")  # 中心规则 (the 交易规则 page): 16:00 unless the center changed it
    listing.deposit_deadline_at = due_at_local_time(due.last_day, cutoff.hour, cutoff.minute)
    listing.announce_assumed_years = ",".join(str(y) for y in sorted(due.assumed_years))


# --- queues and lists -----------------------------------------------------------------------------

@dataclass
class QueueRow:
    listing: Listing
    waiting_days: int


def scoped_listings(user):
    """A select() of the listings the user may see (staff by scope; a transferor their own)."""
    stmt = select(Listing)
    if user.role == Role.PUBLIC:
        return stmt.where(Listing.transferor_user_id == user.id)
    require(user, "listings.view", user.org_unit)
    return stmt.where(scope_clause(user, Listing.org_path))


def queue(user, states: tuple[str, ...]):
    stmt = scoped_listings(user).where(Listing.state.in_(states)).order_by(Listing.state_since)
    now = clock.now()
    return [QueueRow(l, (now - l.state_since).days) for l in db.session.scalars(stmt)]


def queue_counts(user, states: tuple[str, ...]) -> int:
    stmt = scoped_listings(user).where(Listing.state.in_(states)).with_only_columns(func.count(Listing.id))
    return db.session.scalar(stmt) or 0


# --- public site ----------------------------------------------------------------------------------

@dataclass
class SearchParams:
    q: str = ""
    category_id: int | None = None
    station_id: int | None = None
    method: str | None = None
    status: str | None = None  # one of PUBLIC_STATES
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    area_min: Decimal | None = None
    area_max: Decimal | None = None
    sort: str = "newest"  # newest / deadline / price_asc / price_desc / area_desc
    page: int = 1
    per_page: int = 20


SORTS = {
    "newest": (Listing.published_at.desc(), Listing.id.desc()),
    "deadline": (Listing.announce_end_at.asc(), Listing.id.desc()),
    "price_asc": (Listing.floor_price.asc(), Listing.id.desc()),
    "price_desc": (Listing.floor_price.desc(), Listing.id.desc()),
    "area_desc": (Listing.quantity.desc(), Listing.id.desc()),
}


def public_search(p: SearchParams):
    """Published listings for anyone: filters, keyword, sort and pagination.

    The count and the page are two lean queries over the same conditions (no count over a subquery
    of every column); the indexes in the migration serve the common filters.
    """
    conds = [Listing.state == p.status] if p.status else [Listing.state.in_(PUBLIC_STATES)]
    if p.category_id:
        conds.append(Listing.category_id == p.category_id)
    if p.station_id:
        conds.append(Listing.station_id == p.station_id)
    if p.method:
        conds.append(Listing.trading_method == p.method)
    if p.price_min is not None or p.price_max is not None:
        conds.append(Listing.show_floor_price.is_(True))
    if p.price_min is not None:
        conds.append(Listing.floor_price >= p.price_min)
    if p.price_max is not None:
        conds.append(Listing.floor_price <= p.price_max)
    if p.area_min is not None:
        conds.append(Listing.quantity >= p.area_min)
    if p.area_max is not None:
        conds.append(Listing.quantity <= p.area_max)
    if p.q:
        like = f"%{_escape_like(p.q.strip()[:40])}%"
        conds.append(or_(Listing.title.like(like, escape="\\"), Listing.location.like(like, escape="\\"),
                         Listing.project_no.like(like, escape="\\")))
    per_page = min(max(1, p.per_page), 100)
    page = max(1, p.page)
    # Counting stops at COUNT_CAP: beyond that the page says "1000+" (an exact count of a huge result
    # costs a scan of all of it and tells a reader nothing more).
    capped = select(Listing.id).where(*conds).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(capped)) or 0
    items = list(db.session.scalars(
        select(Listing).where(*conds).order_by(*SORTS.get(p.sort, SORTS["newest"]))
        .options(selectinload(Listing.category), selectinload(Listing.method), selectinload(Listing.station),
                 selectinload(Listing.point))
        .limit(per_page).offset((page - 1) * per_page)))
    return SearchPage(items=items, total=min(total, COUNT_CAP), page=page, per_page=per_page,
                      more=total > COUNT_CAP)


COUNT_CAP = 1000


@dataclass
class SearchPage:
    """The slice of results and the numbers the pagination macro needs."""
    items: list
    total: int
    page: int
    per_page: int
    more: bool = False  # the real total exceeds COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def latest_announcements(limit: int = 6) -> list[Listing]:
    return list(db.session.scalars(select(Listing).where(Listing.state == "announced")
                                   .order_by(Listing.published_at.desc()).limit(limit)))


def public_figures() -> dict:
    rows = db.session.execute(select(Listing.state, func.count(Listing.id)).where(Listing.state.in_(PUBLIC_STATES))
                              .group_by(Listing.state)).all()
    counts = dict(rows)
    return {"announced": counts.get("announced", 0), "published": sum(counts.values()),
            "completed": counts.get("completed", 0)}


__all__ = ["InvalidValues", "ListingError", "WorkflowError"]
