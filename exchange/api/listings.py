"""Listings: intake, materials, review decisions; the catalogue; the public announcements."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exchange.api.common import (ApiError, Exact, File, Id, Int, Money, PageArgs, Quantity, make_blueprint, not_found,
                                 perform, public, require_login)
from exchange.api.common import authorise, found
from exchange.catalog.models import Category, TransferMethod
from exchange.extensions import db
from exchange.listings import rules
from exchange.listings import services as svc
from exchange.listings.models import Listing, ListingMaterial
from exchange.listings.workflow import PUBLIC_STATES, STATE_LABELS
from exchange.orgs.models import OrgUnit

blp = make_blueprint("api_listings", "", "挂牌项目：录入、材料、初审、审核与发布；交易品种；公开公告")


class MethodSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class CategorySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    collective = fields.Boolean(metadata={"description": "是否为集体资产（适用第二十条评估和三分之二规则）"})
    announce_days = fields.Integer(metadata={"description": "最短公告期（工作日）"})
    restricts_buyers = fields.Boolean()
    methods = fields.Function(lambda c: [{"id": m.id, "name": m.name} for m in c.active_methods()])


class MaterialSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.Function(lambda m: rules.MATERIAL_KINDS[m.kind].label)
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    public = fields.Boolean()
    uploaded_at = fields.DateTime()


class EventSchema(Schema):
    action = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor_name = fields.String()
    at = fields.DateTime()
    note = fields.String()


class ListingSchema(Schema):
    id = fields.Integer()
    project_no = fields.String(allow_none=True)
    state = fields.String()
    state_label = fields.Function(lambda l: STATE_LABELS[l.state])
    origin = fields.String()
    title = fields.String()
    category = fields.Function(lambda l: {"id": l.category.id, "code": l.category.code, "name": l.category.name})
    method = fields.Function(lambda l: {"id": l.method.id, "name": l.method.name})
    station = fields.Function(lambda l: {"id": l.station.id, "name": l.station.area_name})
    point = fields.Function(lambda l: {"id": l.point.id, "name": l.point.area_name} if l.point else None)
    location = fields.String()
    boundaries = fields.String()
    quantity = Exact()
    unit = fields.String()
    current_use = fields.String(metadata={"description": "利用现状（第十四条（一）），提交前必填"})
    obtained_by = fields.String(metadata={"description": "“四荒”使用权的取得方式：household_contract 家庭承包 / "
                                                         "open_contract 招标、拍卖、公开协商等；其他品种为空"})
    description = fields.String()
    right_cert_no = fields.String()
    right_end_date = fields.Date(allow_none=True)
    term_start = fields.Date(allow_none=True)
    term_end = fields.Date(allow_none=True)
    price_mode = fields.String()
    floor_unit_price = Exact(allow_none=True)
    floor_price = Exact(allow_none=True)
    price_basis = fields.String()
    show_floor_price = fields.Boolean()
    appraisal_value = Exact(allow_none=True)
    appraisal_agency = fields.String()
    appraisal_report_no = fields.String()
    transferor_kind = fields.String()
    transferor_name = fields.String()
    transferor_id_no = fields.String()
    transferor_mobile = fields.String()
    account_name = fields.String()
    account_bank = fields.String()
    account_no = fields.String()
    account_holder_id_no = fields.String(metadata={"description": "收款账户开户的身份证号或统一社会信用代码（账户属转让方本人的可空）"})
    entrusted = fields.Boolean()
    agent_name = fields.String()
    agent_id_no = fields.String()
    agent_mobile = fields.String()
    decision_type = fields.String()
    decision_date = fields.Date(allow_none=True)
    reps_total = fields.Integer(allow_none=True)
    reps_for = fields.Integer(allow_none=True)
    buyer_conditions = fields.String()
    buyer_restriction = fields.String()
    restriction_note = fields.String()
    deposit_amount = Exact(allow_none=True)
    announce_days = fields.Integer()
    trading_method = fields.String()
    bid_increment = Exact(allow_none=True)
    announce_start_at = fields.DateTime(allow_none=True)
    announce_end_at = fields.DateTime(allow_none=True)
    deposit_deadline_at = fields.DateTime(allow_none=True)
    problems = fields.Function(lambda l: rules.problems(l, for_submit=True),
                               metadata={"description": "提交前尚待补正的问题（中文）"})
    station_opinion = fields.Function(
        lambda l: _station_opinion(l),
        metadata={"description": "第十四条：本次提交的交易站意见（verdict: agree 同意 / disagree 不同意 / unavailable "
                                 "未能取得，附理由）；没有时为 null", "type": "object", "nullable": True})
    materials = fields.List(fields.Nested(MaterialSchema))
    events = fields.List(fields.Nested(EventSchema))


def _station_opinion(listing: Listing) -> dict | None:
    op = svc.station_opinion(listing)
    if op is None:
        return None
    return {"verdict": op.verdict, "verdict_label": op.verdict_label, "reasons": op.reasons,
            "given_by": op.given_by_name, "given_at": op.given_at.isoformat()}


class ListingPageSchema(Schema):
    items = fields.List(fields.Nested(ListingSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ListingArgs(PageArgs):
    state = fields.String(load_default=None, validate=validate.OneOf(list(STATE_LABELS)))


# Writable fields: everything in services.EDITABLE_FIELDS, as text/number/bool/date
def _writable_fields() -> dict:
    out = {}
    for name in sorted(svc.EDITABLE_FIELDS):
        if name in svc.MONEY_FIELDS or name == "quantity":
            out[name] = fields.String(allow_none=True, metadata={"description": "金额或数量，如 \"12000.00\""})
        elif name in ("reps_total", "reps_for", "announce_days"):
            out[name] = Int(allow_none=True)
        elif name in ("right_end_date", "term_start", "term_end", "decision_date"):
            out[name] = fields.Date(allow_none=True)
        elif name in ("show_floor_price", "entrusted"):
            out[name] = fields.Boolean()
        else:
            out[name] = fields.String(allow_none=True)
    out["category_id"] = Id()
    out["method_id"] = Id()
    return out


ListingWriteSchema = Schema.from_dict(_writable_fields(), name="ListingWrite")
ListingCreateSchema = Schema.from_dict({**_writable_fields(), "category_id": Id(required=True),
                                        "point_id": Id(load_default=None, metadata={
                                            "description": "项目所在交易点（交易点信息员可不填，默认本村）"})},
                                       name="ListingCreate")


class StationDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["pass", "return"]))
    reason = fields.String(load_default="")


class ChecklistItemSchema(Schema):
    ok = fields.Boolean(required=True)
    note = fields.String(load_default="")


class CenterDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return", "reject"]))
    checklist = fields.Dict(keys=fields.String(validate=validate.OneOf(list(svc.CENTER_CHECKLIST))),
                            values=fields.Nested(ChecklistItemSchema), load_default=dict,
                            metadata={"description": "ownership / qualification / planning / decision 各项"})
    reason = fields.String(load_default="")


class TextSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class OpinionSchema(TextSchema):
    verdict = fields.String(required=True, validate=validate.OneOf(["agree", "disagree"]),
                            metadata={"description": "agree 同意 / disagree 不同意"})


class UploadSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(rules.MATERIAL_KINDS)),
                         metadata={"description": "材料类别代码：" + "、".join(
                             f"{code} {kind.label}" for code, kind in rules.MATERIAL_KINDS.items())})
    file = File(required=True, metadata={"description": "材料文件（PDF、JPG 或 PNG）"})


class PublicListingSchema(Schema):
    project_no = fields.String()
    title = fields.String()
    state = fields.String()
    state_label = fields.Function(lambda l: STATE_LABELS[l.state])
    category = fields.Function(lambda l: l.category.name)
    method = fields.Function(lambda l: l.method.name)
    town = fields.Function(lambda l: l.station.area_name)
    village = fields.Function(lambda l: l.point.area_name if l.point else None)
    location = fields.String()
    quantity = Exact()
    unit = fields.String()
    current_use = fields.String(metadata={"description": "利用现状（第十四条（一））"})
    term_start = fields.Date(allow_none=True)
    term_end = fields.Date(allow_none=True)
    floor_price = Exact(value=lambda l: l.floor_price if l.show_floor_price and l.floor_price else None, allow_none=True,
                        metadata={"description": "底价（元）；未公开底价时为 null"})
    deposit_amount = Exact(allow_none=True)
    trading_method = fields.String()
    buyer_conditions = fields.String()
    transferor = fields.Function(lambda l: _public_transferor(l),
                                 metadata={"description": "自然人姓名脱敏"})
    announce_start_at = fields.DateTime(allow_none=True)
    announce_end_at = fields.DateTime(allow_none=True)
    deposit_deadline_at = fields.DateTime(allow_none=True)


def _public_transferor(listing: Listing) -> str:
    from exchange.idcheck import mask_name
    return mask_name(listing.transferor_name) if listing.transferor_kind == "household" else listing.transferor_name


class PublicPageSchema(Schema):
    items = fields.List(fields.Nested(PublicListingSchema))
    total = fields.Integer(metadata={"description": "符合条件的项目数，最多计到 1000"})
    more = fields.Boolean(metadata={"description": "实际数量超过 1000 时为 true"})
    page = fields.Integer()
    per_page = fields.Integer()


class SearchArgs(PageArgs):
    q = fields.String(load_default="", validate=validate.Length(max=40))
    category_id = Id(load_default=None)
    town_id = Id(load_default=None)
    method = fields.String(load_default=None, validate=validate.OneOf(list(rules.TRADING_METHODS)))
    status = fields.String(load_default=None, validate=validate.OneOf(list(PUBLIC_STATES)))
    price_min = Money(load_default=None, minimum=0)
    price_max = Money(load_default=None, minimum=0)
    area_min = Quantity(load_default=None, minimum=0)
    area_max = Quantity(load_default=None, minimum=0)
    sort = fields.String(load_default="newest", validate=validate.OneOf(list(svc.SORTS)))


def _load(listing_id: int) -> Listing:
    user = require_login()
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise not_found("项目")
    svc.require_view(user, listing)
    return listing


def _split(args: dict) -> tuple[Category | None, TransferMethod | None, dict]:
    args = dict(args)
    cat = method = None
    if "category_id" in args:
        cat = db.session.get(Category, args.pop("category_id"))
        if cat is None:
            raise ApiError(400, "invalid", "交易品种不存在。", fields={"category_id": ["不存在"]})
    if "method_id" in args:
        method = db.session.get(TransferMethod, args.pop("method_id"))
        if method is None:
            raise ApiError(400, "invalid", "流转方式不存在。", fields={"method_id": ["不存在"]})
    return cat, method, args


@blp.route("/catalog/categories")
@public
@blp.response(200, CategorySchema(many=True))
def categories():
    """交易品种及其流转方式（公开）"""
    return list(db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.seq)))


@blp.route("/listings")
@blp.arguments(ListingArgs, location="query")
@blp.response(200, ListingPageSchema)
def list_listings(args):
    """我管辖范围内的挂牌项目（转让方：本人的申请）"""
    user = require_login()
    stmt = svc.scoped_listings(user)
    if args["state"]:
        stmt = stmt.where(Listing.state == args["state"])
    page = db.paginate(stmt.order_by(Listing.id.desc()), page=args["page"], per_page=args["per_page"],
                       error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}


@blp.route("/listings", methods=["POST"])
@authorise(svc.authorise_create)
@blp.arguments(ListingCreateSchema)
@blp.response(201, ListingSchema)
def create_listing(args):
    """新建挂牌项目草稿（交易点信息员；转让方或交易中心直接申请时须给出 point_id）"""
    user = require_login()
    point_id = args.pop("point_id", None)
    point = db.session.get(OrgUnit, point_id) if point_id else None
    if point_id and point is None:
        raise ApiError(400, "invalid", "交易点不存在。", fields={"point_id": ["不存在"]})
    cat, method, rest = _split(args)
    listing = perform(svc.create_draft, user, category=cat, method=method, point=point, **rest)
    return listing


@blp.route("/listings/<int:listing_id>")
@blp.response(200, ListingSchema)
def get_listing(listing_id):
    """挂牌项目详情"""
    return _load(listing_id)


@blp.route("/listings/<int:listing_id>", methods=["PATCH"])
@authorise(svc.authorise_edit, found(Listing, "项目"))
@blp.arguments(ListingWriteSchema)
@blp.response(200, ListingSchema)
def update_listing(args, listing_id):
    """修改草稿或被退回的项目"""
    listing = _load(listing_id)
    cat, method, rest = _split(args)
    perform(svc.update_draft, require_login(), listing, category=cat, method=method, **rest)
    return listing


@blp.route("/listings/<int:listing_id>/materials", methods=["POST"])
@authorise(svc.authorise_edit, found(Listing, "项目"))
@blp.arguments(UploadSchema, location="multipart")
@blp.response(201, MaterialSchema)
def upload_material(args, listing_id):
    """上传材料（multipart/form-data：kind 与 file；PDF/JPG/PNG）"""
    listing = _load(listing_id)
    upload = args.get("file")
    if upload is None:
        raise ApiError(400, "invalid", "请选择要上传的文件。", fields={"file": ["必填项"]})
    material = perform(svc.add_material, require_login(), listing, args["kind"], upload)
    return material


@blp.route("/listings/<int:listing_id>/materials/<int:material_id>", methods=["DELETE"])
@blp.response(200, ListingSchema)
def delete_material(listing_id, material_id):
    """删除材料"""
    listing = _load(listing_id)
    material = db.session.get(ListingMaterial, material_id)
    if material is None or material.listing_id != listing.id:
        raise not_found("材料")
    perform(svc.remove_material, require_login(), material)
    return listing


@blp.route("/listings/<int:listing_id>/submit", methods=["POST"])
@blp.response(200, ListingSchema)
def submit_listing(listing_id):
    """提交审核（经交易点的送交易站初审；直接申请的送交易中心）"""
    listing = _load(listing_id)
    perform(svc.submit, require_login(), listing)
    return listing


@blp.route("/listings/<int:listing_id>/station-review", methods=["POST"])
@authorise(svc.authorise_station_review, found(Listing, "项目"))
@blp.arguments(StationDecisionSchema)
@blp.response(200, ListingSchema)
def station_review(args, listing_id):
    """交易站初审：通过报送交易中心，或退回交易点（须写理由）"""
    listing = _load(listing_id)
    perform(svc.station_decide, require_login(), listing, args["decision"] == "pass", args["reason"])
    return listing


@blp.route("/listings/<int:listing_id>/center-review", methods=["POST"])
@authorise(svc.authorise_center_review, found(Listing, "项目"))
@blp.arguments(CenterDecisionSchema)
@blp.response(200, ListingSchema)
def center_review(args, listing_id):
    """交易中心审核：逐项核对后通过发布、退回或不予受理"""
    listing = _load(listing_id)
    perform(svc.center_decide, require_login(), listing, args["decision"], args["checklist"], args["reason"])
    return listing


@blp.route("/listings/<int:listing_id>/opinion-request", methods=["POST"])
@authorise(svc.authorise_center_review, found(Listing, "项目"))
@blp.arguments(TextSchema)
@blp.response(200, ListingSchema)
def request_opinion(args, listing_id):
    """交易中心就直接申请征求交易站意见"""
    listing = _load(listing_id)
    perform(svc.request_station_opinion, require_login(), listing, args["text"])
    return listing


@blp.route("/listings/<int:listing_id>/opinion", methods=["POST"])
@authorise(svc.authorise_station_review, found(Listing, "项目"))
@blp.arguments(OpinionSchema)
@blp.response(200, ListingSchema)
def give_opinion(args, listing_id):
    """交易站出具意见（第十四条）：同意或不同意，并写明理由"""
    listing = _load(listing_id)
    perform(svc.give_station_opinion, require_login(), listing, args["text"], verdict=args["verdict"])
    return listing


@blp.route("/listings/<int:listing_id>/opinion-unavailable", methods=["POST"])
@authorise(svc.authorise_center_review, found(Listing, "项目"))
@blp.arguments(TextSchema)
@blp.response(200, ListingSchema)
def opinion_unavailable(args, listing_id):
    """交易中心记录未能取得交易站意见的原因（第十四条；须先征求意见）"""
    listing = _load(listing_id)
    perform(svc.record_opinion_unavailable, require_login(), listing, args["text"])
    return listing


@blp.route("/public/listings")
@public
@blp.arguments(SearchArgs, location="query")
@blp.response(200, PublicPageSchema)
def public_listings(args):
    """公开的交易项目（无需登录；自然人姓名脱敏，不含证件号、电话和账号）"""
    params = svc.SearchParams(q=args["q"], category_id=args["category_id"], station_id=args["town_id"],
                              method=args["method"], status=args["status"], price_min=args["price_min"],
                              price_max=args["price_max"], area_min=args["area_min"], area_max=args["area_max"],
                              sort=args["sort"], page=args["page"], per_page=args["per_page"])
    page = svc.public_search(params)
    return {"items": page.items, "total": page.total, "more": page.more, "page": page.page,
            "per_page": page.per_page}


@blp.route("/public/listings/<string:project_no>")
@public
@blp.response(200, PublicListingSchema)
def public_listing(project_no):
    """一个公开项目的公告信息"""
    listing = db.session.scalar(select(Listing).where(Listing.project_no == project_no[:30]))
    if listing is None or listing.state not in PUBLIC_STATES:
        raise not_found("项目")
    return listing


__all__ = ["blp"]
