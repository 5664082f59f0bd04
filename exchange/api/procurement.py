"""招标采购 (招标/采购/招商, issue 18; DESIGN §3.12) over the API.

* **Public reads** (no sign-in; counted with the anonymous reads of listings): the published procurement projects with
  the terms their announcement fixes — method, kind, budget, 最高限价 (招商: 最低价), 投标保证金, the evaluation method
  with its criteria, weights and price formula, the 开标 time and the project's stage — and, for one project, the
  public 开标 record once the bids are opened (bidders, prices, receipts, the opened bid documents), the 中标候选人
  after the evaluation, the winner and the 中标通知书 number after the award.  The representation is the open data's
  (:mod:`exchange.opendata.procurement`): natural persons masked, and before the 开标 nothing of any bid — not even how
  many there are (《招标投标法》第二十二条).
* **A supplier's sealed bid** (a trading party's own account, as the bidding room's bids): it submits its price
  (``POST …/bids``; the JSON body holds the price only — a 综合评分法 project also needs its proposal documents, which
  are uploaded on the project's bid page) and receives the SHA-256 receipt, withdraws it before the deadline
  (``POST …/bids/{bid_id}/withdraw``), and reads its own bids (``GET …/bids``): state, receipt and times — the price
  only from the opening on (before it the platform holds nothing readable).  The rules are the services'
  (:func:`exchange.procurement.services.submit_bid`, :func:`~exchange.procurement.services.withdraw_bid`): bond
  arrived, before the 开标 time, within the limit.

The evaluation, the panel and the award are the center's and the collective's pages; they are not offered here.
"""
from __future__ import annotations

import functools

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exchange import inputs
from exchange.access import AccessDenied
from exchange.accounts.models import Role
from exchange.api.common import (Exact, Id, Money, PageArgs, authorise, make_blueprint, not_found, perform, public,
                                 require_login)
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.listings.workflow import PUBLIC_STATES
from exchange.opendata import procurement as published
from exchange.procurement import services as psvc
from exchange.procurement.models import DIRECTIONS, EVAL_KINDS, KINDS, ProcurementBid
from exchange.procurement.states import BidState, ProcState
from exchange.registrations.models import Registration

blp = make_blueprint("api_procurement", "/procurement",
                     "招标采购（招标、采购、招商）：公告条款、网上开标记录、中标候选人和中标人（公开）；供应商密封投标与撤回")

STAGE_TEXT = "、".join(f"{k} {v}" for k, v in ProcState.labels().items())
PERSON_OR_ORG = "person 自然人（仅显示姓氏）/ organisation 单位（显示全称）"


# --- the public representation (also the open data's: exchange/api/opendata.py) -------------------------------------

class CriterionSchema(Schema):
    key = fields.String(metadata={"description": "评分因素代码（c1、c2 …）"})
    name = fields.String(metadata={"description": "评分因素，如 施工方案"})
    weight = Exact(metadata={"description": "分值"})


class OpenedFileSchema(Schema):
    seq = fields.Integer(metadata={"description": "投标文件中的序号"})
    filename = fields.String()
    content_type = fields.String()
    sha256 = fields.String(metadata={"description": "文件的 SHA-256（与投标文件 documents 中所列一致）"})
    url = fields.String(metadata={"description": "下载路径"})


class OpenedBidSchema(Schema):
    bid_id = fields.Integer()
    bidder = fields.String(metadata={"description": "投标人：自然人仅显示姓氏（张*），单位显示全称"})
    bidder_kind = fields.String(metadata={"description": PERSON_OR_ORG})
    price = Exact(allow_none=True, metadata={"description": "投标报价（元）"})
    submitted_at = fields.DateTime(metadata={"description": "递交时间（UTC）"})
    receipt = fields.String(metadata={"description": "回执：投标文件（document）的 SHA-256，投标人递交时取得"})
    document = fields.String(metadata={"description": "开标后公开的投标文件原文（JSON 文本）；其 SHA-256 即回执"})
    document_url = fields.String(metadata={"description": "投标文件原文的下载路径"})
    sealed_url = fields.String(metadata={"description": "开标前保存的密封原件的下载路径（可用公布的私钥自行解开）"})
    files = fields.List(fields.Nested(OpenedFileSchema), metadata={"description": "投标附件（综合评分法）"})


class OpeningSchema(Schema):
    opened_at = fields.DateTime(metadata={"description": "开标时间（UTC）"})
    bid_count = fields.Integer(metadata={"description": "开标的投标份数"})
    public_key = fields.String(metadata={"description": "项目公钥（十六进制，X25519）：投标以它密封"})
    opened_key = fields.String(metadata={"description": "开标时公布的项目私钥（十六进制）"})
    bids = fields.List(fields.Nested(OpenedBidSchema))


class CandidateSchema(Schema):
    rank = fields.Integer(metadata={"description": "中标候选人排序（1–3）"})
    bid_id = fields.Integer()
    bidder = fields.String(metadata={"description": "投标人：自然人仅显示姓氏，单位显示全称"})
    bidder_kind = fields.String(metadata={"description": PERSON_OR_ORG})
    price = Exact(allow_none=True, metadata={"description": "投标报价（元）"})
    price_score = Exact(allow_none=True, metadata={"description": "价格分（综合评分法；最低价法为 null）"})
    panel_score = Exact(allow_none=True, metadata={"description": "评标委员会评分的平均分（综合评分法）"})
    total = Exact(allow_none=True, metadata={"description": "综合得分（综合评分法）"})


class InvalidBidSchema(Schema):
    bid_id = fields.Integer()
    bidder = fields.String()
    bidder_kind = fields.String(metadata={"description": PERSON_OR_ORG})
    price = Exact(allow_none=True)
    reason = fields.String(metadata={"description": "否决理由（如报价超过最高限价、缺少资质证明）"})


class EvaluationSchema(Schema):
    evaluated_at = fields.DateTime(metadata={"description": "评标完成时间（UTC）"})
    eval_kind = fields.String(metadata={"description": "lowest_price 最低价法 / scored 综合评分法"})
    candidates = fields.List(fields.Nested(CandidateSchema), metadata={"description": "中标候选人（至多 3 名），名次在前"})
    invalid = fields.List(fields.Nested(InvalidBidSchema), metadata={"description": "被否决的投标及理由"})


class AwardSchema(Schema):
    winner = fields.String(metadata={"description": "中标人：自然人仅显示姓氏，单位显示全称"})
    winner_kind = fields.String(metadata={"description": PERSON_OR_ORG})
    rank = fields.Integer(allow_none=True, metadata={"description": "中标人在中标候选人中的名次"})
    price = Exact(allow_none=True, metadata={"description": "中标价（元）"})
    notice_no = fields.String(allow_none=True, metadata={"description": "中标通知书编号"})
    awarded_at = fields.DateTime(metadata={"description": "确定中标人的时间（UTC）"})


class ProcurementPartSchema(Schema):
    """A procurement project's own part: the terms, then the opening, the evaluation and the award as they come."""

    mode = fields.String(metadata={"description": "招标 / 采购 / 招商"})
    stage = fields.String(metadata={"description": f"招标采购的阶段：{STAGE_TEXT}"})
    stage_label = fields.String()
    kind = fields.String(allow_none=True, metadata={"description": "项目类别："
                                                    + "、".join(f"{k} {v}" for k, v in KINDS.items())
                                                    + "；招商为 null"})
    kind_label = fields.String()
    purchaser = fields.String(metadata={"description": "采购人（招商方）：村集体经济组织，显示全称"})
    budget = Exact(allow_none=True, metadata={"description": "预算金额（元；招商为预计投资额，可空）"})
    limit_price = Exact(allow_none=True, metadata={"description": "最高限价（元；招商为最低价）"})
    limit_label = fields.String(metadata={"description": "最高限价 / 最低价"})
    bond = Exact(allow_none=True, metadata={"description": "投标保证金（元，不超过限价的 2%）"})
    eval_kind = fields.String(metadata={"description": "评标办法："
                                        + "、".join(f"{k} {v}" for k, v in EVAL_KINDS.items())})
    eval_label = fields.String()
    direction = fields.String(metadata={"description": "报价方向："
                                        + "、".join(f"{k} {v}" for k, v in DIRECTIONS.items())})
    direction_label = fields.String()
    price_weight = Exact(allow_none=True, metadata={"description": "价格分值（综合评分法；最低价法为 null）"})
    price_formula = fields.String(metadata={"description": "价格分的计算公式（综合评分法）"})
    criteria = fields.List(fields.Nested(CriterionSchema),
                           metadata={"description": "价格以外的评分因素及分值（综合评分法；与价格分值合计 100）"})
    trim_extremes = fields.Boolean(metadata={"description": "是否去掉评委总分的最高分和最低分（5 人以上评委会）"})
    panel_size = fields.Integer(allow_none=True, metadata={"description": "评标委员会人数（综合评分法）"})
    min_bids = fields.Integer(metadata={"description": "开标所需的最少投标数（招标 3，采购、招商 1），不足即流标"})
    scope = fields.String(metadata={"description": "采购内容（工程概况、货物或服务、招商条件）"})
    requirements = fields.String(metadata={"description": "投标人资格要求"})
    published_at = fields.DateTime(allow_none=True, metadata={"description": "公告发布时间（UTC）"})
    opens_at = fields.DateTime(allow_none=True, metadata={"description": "投标截止暨开标时间（UTC）"})
    bond_deadline_at = fields.DateTime(allow_none=True, metadata={"description": "投标保证金到账截止（UTC）"})
    opening_url = fields.String(allow_none=True, metadata={"description": "网上开标页面的路径"})
    opening = fields.Nested(OpeningSchema, allow_none=True,
                            metadata={"description": "开标记录；开标前为 null（开标前不公开任何投标信息，包括投标数量）"})
    evaluation = fields.Nested(EvaluationSchema, allow_none=True,
                               metadata={"description": "评标结果（中标候选人公示）；评标完成前为 null"})
    award = fields.Nested(AwardSchema, allow_none=True,
                          metadata={"description": "中标人及中标通知书；采购人确定中标人前为 null"})


class ProcurementProjectSchema(ProcurementPartSchema):
    project_no = fields.String(metadata={"description": "项目编号"})
    listing_id = fields.Integer(metadata={"description": "挂牌项目编号：供应商报名用 POST /listings/{listing_id}/registrations"})
    title = fields.String()
    state = fields.String(metadata={"description": "挂牌项目状态代码（公告中、交易中、交易公示、签约中……）"})
    state_label = fields.String()
    category = fields.String(metadata={"description": "交易品种"})
    category_code = fields.String()
    town = fields.String(allow_none=True, metadata={"description": "镇（街道）"})
    town_code = fields.String(allow_none=True)
    village = fields.String(allow_none=True, metadata={"description": "村（社区）"})
    village_code = fields.String(allow_none=True)
    location = fields.String(metadata={"description": "项目地点"})
    url = fields.String(metadata={"description": "项目公告页面的路径"})


class OpenProcurementProjectSchema(ProcurementProjectSchema):
    """The same for open data, without the listing's internal id."""

    class Meta:
        exclude = ("listing_id",)


class ProcurementPageSchema(Schema):
    items = fields.List(fields.Nested(ProcurementProjectSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ProjectArgs(PageArgs):
    stage = fields.String(load_default=None, validate=validate.OneOf(list(ProcState.labels())),
                          metadata={"description": f"招标采购的阶段：{STAGE_TEXT}；不填为全部"})
    mode = fields.String(load_default=None, validate=validate.OneOf(list(published.MODES)),
                         metadata={"description": "招标 / 采购 / 招商；不填为全部"})
    town_id = Id(load_default=None, metadata={"description": "镇（街道）交易站的编号"})


@blp.route("/projects")
@public
@blp.arguments(ProjectArgs, location="query")
@blp.response(200, ProcurementPageSchema)
def list_projects(args):
    """已发布的招标采购项目（公开，无需登录）：公告条款及所处阶段，开标后含开标记录、评标后含中标候选人、定标后含中标人；新发布的在前"""
    q = published.Query(stage=args["stage"], mode=args["mode"],
                        station_ids=[args["town_id"]] if args["town_id"] else None,
                        page=args["page"], per_page=args["per_page"])
    items, total = published.find(q, with_id=True)
    return {"items": items, "total": total, "page": q.page, "per_page": q.per_page}


@blp.route("/projects/<string:project_no>")
@public
@blp.response(200, ProcurementProjectSchema)
def get_project(project_no):
    """一个招标采购项目（公开）：公告条款；开标后的开标记录（投标人、报价、回执、投标文件）；中标候选人；中标人和中标通知书编号"""
    item = published.by_number(project_no, with_id=True)
    if item is None:
        raise not_found("招标采购项目")
    return item


# --- a supplier's sealed bid -----------------------------------------------------------------------------------------

class SupplierBidSchema(Schema):
    id = fields.Integer()
    state = fields.String(metadata={"description": "、".join(f"{k} {v}" for k, v in BidState.labels().items())})
    state_label = fields.String()
    receipt = fields.String(metadata={"description": "回执：投标文件的 SHA-256，请妥善保存，开标后据以核对"})
    submitted_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime(allow_none=True)
    price = Exact(allow_none=True, metadata={"description": "投标报价（元）：开标后才有（开标前平台只保存密封的字节）"})
    file_count = fields.Function(lambda b: len(b.files), metadata={"description": "随投标密封的附件数",
                                                                   "type": "integer"})


class BidPrice(Money):
    """An amount in 元, a whole number of 分 (``exchange.inputs.parse_money`` strict: 1.005 is refused, never rounded)."""

    parser = staticmethod(functools.partial(inputs.parse_money, strict=True))


class SealedBidArgs(Schema):
    price = BidPrice(required=True, metadata={
        "description": "投标报价（元，字符串，如 \"249800.50\"）：招标、采购不得高于最高限价，招商不得低于最低价"})


def _project(project_no: str, **_) -> Listing:
    """A published procurement project by its number (404 otherwise)."""
    listing = db.session.scalar(select(Listing).where(Listing.project_no == project_no[:30]))
    if (listing is None or not listing.is_procurement or listing.state not in PUBLIC_STATES
            or psvc.project_of(listing) is None):
        raise not_found("招标采购项目")
    return listing


def _registration(user, listing: Listing) -> Registration | None:
    return db.session.scalar(select(Registration).where(Registration.listing_id == listing.id,
                                                        Registration.buyer_id == user.id))


def authorise_supplier(user, listing: Listing | None = None) -> None:
    """Only a trading party's own account deals with bids: staff never read or submit one."""
    if getattr(user, "role", None) != Role.PUBLIC:
        raise AccessDenied("投标由供应商（交易主体）本人办理，工作人员不能投标或查看投标；开标后的投标见项目的开标记录。")


def authorise_bidder(user, listing: Listing) -> None:
    """A supplier registered for the project (its bond and the deadline are the service's rules)."""
    authorise_supplier(user)
    if _registration(user, listing) is None:
        raise AccessDenied("您没有报名该项目：请先报名（POST /api/v1/listings/{listing_id}/registrations），"
                           "资格审核通过并交纳投标保证金后才能投标。")


def _my_bids(user, listing: Listing) -> list[ProcurementBid]:
    return list(db.session.scalars(select(ProcurementBid).where(ProcurementBid.listing_id == listing.id,
                                                                ProcurementBid.supplier_id == user.id)
                                   .order_by(ProcurementBid.submitted_at.desc(), ProcurementBid.id.desc())))


@blp.route("/projects/<string:project_no>/bids")
@authorise(authorise_supplier, _project)
@blp.response(200, SupplierBidSchema(many=True))
def my_bids(project_no):
    """我在该项目的投标（供应商本人）：状态、回执和时间，最近的在前；报价在开标后才显示"""
    return _my_bids(require_login(), _project(project_no))


@blp.route("/projects/<string:project_no>/bids", methods=["POST"])
@authorise(authorise_bidder, _project)
@blp.arguments(SealedBidArgs)
@blp.response(201, SupplierBidSchema)
def submit_bid(args, project_no):
    """提交密封投标（已交投标保证金的供应商，开标时间前）：只含报价，返回回执（SHA-256）；已有投标的，新投标代替原投标。
    综合评分法项目须附投标文件，请在项目的投标页面上传"""
    listing = _project(project_no)
    return perform(psvc.submit_bid, require_login(), listing, price=args["price"])


@blp.route("/projects/<string:project_no>/bids/<int:bid_id>/withdraw", methods=["POST"])
@authorise(authorise_bidder, _project)
@blp.response(200, SupplierBidSchema)
def withdraw_bid(project_no, bid_id):
    """撤回投标（供应商本人，开标时间前）：原回执作废，可以重新投标"""
    user, listing = require_login(), _project(project_no)
    bid = db.session.get(ProcurementBid, bid_id)
    if bid is None or bid.listing_id != listing.id or bid.supplier_id != user.id:
        raise not_found("投标")
    return perform(psvc.withdraw_bid, user, bid)


__all__ = ["blp"]
