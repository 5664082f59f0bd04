"""交易公示, objections and deal documents over the API.

* ``GET /public/deals`` and ``GET /public/deals/<deal_no>``: open data (no sign-in): natural persons' names
  masked, no ID numbers, phones or accounts; bidders only as 竞买号.
* ``POST /deals/<deal_no>/objections``: anyone, during publicity (a browser session sends X-CSRFToken).
* ``GET /deals/<deal_no>/objections``: the center (审核员) and those who may view trading (incl. 监管).
* ``POST /objections/<id>/decision``: the center's reviewer decides.
"""
from __future__ import annotations

from flask import request
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from exchange.access import AccessDenied, can
from exchange.api.common import (Exact, PageArgs, make_blueprint, not_found, perform, public, public_or_signed_in,
                                 require_login)
from exchange.api.common import authorise
from exchange.extensions import db
from exchange.money import to_chinese_upper
from exchange.trading import documents as docs
from exchange.trading import services as tsvc
from exchange.trading.models import Deal, Objection

blp = make_blueprint("api_publicity", "", "交易公示、异议与成交文书")

from exchange.trading.models import LIVE_DEAL_STATES as PUBLIC_DEAL_STATES  # noqa: E402  (one list)


class PublicBidSchema(Schema):
    seq = fields.Integer()
    bidder_no = fields.String(metadata={"description": "竞买号（不公开竞买人姓名）"})
    amount = Exact()
    at = fields.DateTime()
    priority_match = fields.Boolean(metadata={"description": "优先权人以同等价格跟价"})


class PublicDealSchema(Schema):
    deal_no = fields.String()
    project_no = fields.Function(lambda d: d.listing.project_no)
    title = fields.Function(lambda d: d.listing.title)
    category = fields.Function(lambda d: d.listing.category.name)
    transfer_method = fields.Function(lambda d: d.listing.method.name)
    town = fields.Function(lambda d: d.listing.station.area_name)
    village = fields.Function(lambda d: d.listing.point.area_name if d.listing.point else None)
    quantity = Exact(attribute="listing.quantity", allow_none=True)
    unit = fields.Function(lambda d: d.listing.unit)
    method = fields.String(metadata={"description": "agreement / online_bidding / sealed_bid / auction / tender"})
    method_label = fields.String()
    price = Exact()
    price_upper = fields.Function(lambda d: to_chinese_upper(d.price), metadata={"description": "成交价大写"})
    transferor = fields.Function(lambda d: docs.transferor_public(d), metadata={"description": "自然人姓名脱敏"})
    winner = fields.Function(lambda d: docs.winner_public(d), metadata={"description": "受让方；自然人姓名脱敏"})
    state = fields.String()
    state_label = fields.String()
    concluded_at = fields.DateTime()
    publicity_end_at = fields.DateTime()
    objections_open = fields.Function(lambda d: docs.in_publicity(d), metadata={"description": "现在可否提出异议"})


class PublicDealDetailSchema(PublicDealSchema):
    bids = fields.Function(lambda d: PublicBidSchema(many=True).dump(docs.bid_rows(d)),
                           metadata={"description": "竞价记录（网络竞价、一次性报价），按序号"})


class PublicDealPageSchema(Schema):
    items = fields.List(fields.Nested(PublicDealSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class PublicDealArgs(PageArgs):
    state = fields.String(load_default=None, validate=validate.OneOf(["publicity", "confirmed"]),
                          metadata={"description": "publicity 公示中 / confirmed 公示期满；不填为两者"})


class ObjectionInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(max=60), metadata={"description": "异议人姓名或单位"})
    contact = fields.String(required=True, validate=validate.Length(max=60), metadata={"description": "联系电话或地址"})
    content = fields.String(required=True, validate=validate.Length(max=2000),
                            metadata={"description": "异议的事实和理由（10 至 2000 字）"})


class ObjectionFiledSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    filed_at = fields.DateTime()
    message = fields.String()


class ObjectionSchema(Schema):
    id = fields.Integer()
    deal_no = fields.Function(lambda o: o.deal.deal_no)
    name = fields.String()
    contact = fields.String()
    content = fields.String()
    filed_at = fields.DateTime()
    signed_in = fields.Function(lambda o: o.filed_by_id is not None, metadata={"description": "提出时是否已登录"})
    state = fields.String(metadata={"description": "pending / upheld / dismissed"})
    state_label = fields.String()
    decision = fields.String()
    decided_at = fields.DateTime(allow_none=True)


class ObjectionDecisionSchema(Schema):
    upheld = fields.Boolean(required=True, metadata={"description": "true 异议成立（中止交易）/ false 不成立"})
    decision = fields.String(required=True, validate=validate.Length(max=2000), metadata={"description": "处理意见"})


def _deal(deal_no: str, public: bool = False) -> Deal:
    deal = db.session.scalar(select(Deal).where(Deal.deal_no == deal_no[:30]))
    if deal is None or (public and deal.state not in PUBLIC_DEAL_STATES):
        raise not_found("成交")
    return deal


@blp.route("/public/deals")
@public
@blp.arguments(PublicDealArgs, location="query")
@blp.response(200, PublicDealPageSchema)
def public_deals(args):
    """交易公示：公示中和公示期满的成交结果，新的在前（无需登录；自然人姓名脱敏）"""
    states = [args["state"]] if args["state"] else ["publicity", "confirmed"]
    where = Deal.state.in_(states)
    total = db.session.scalar(select(func.count(Deal.id)).where(where))
    items = db.session.scalars(select(Deal).where(where).order_by(Deal.concluded_at.desc(), Deal.id.desc())
                               .offset((args["page"] - 1) * args["per_page"]).limit(args["per_page"])).all()
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/public/deals/<string:deal_no>")
@public
@blp.response(200, PublicDealDetailSchema)
def public_deal(deal_no):
    """一项成交的公示信息和竞价记录（竞买人仅以竞买号表示）"""
    return _deal(deal_no, public=True)


@blp.route("/deals/<string:deal_no>/objections", methods=["POST"])
@public_or_signed_in
@blp.arguments(ObjectionInSchema)
@blp.response(201, ObjectionFiledSchema)
def file_objection(args, deal_no):
    """提出异议（任何人，仅在交易公示期内；异议内容不公开）"""
    from flask_login import current_user
    deal = _deal(deal_no, public=True)
    obj = perform(tsvc.file_objection, current_user, deal, name=args["name"], contact=args["contact"],
                  content=args["content"], ip=request.remote_addr or "")
    return {"id": obj.id, "state": obj.state, "filed_at": obj.filed_at,
            "message": "异议已提交，交易中心将核实处理并通过您留下的联系方式告知结果。"}


@blp.route("/deals/<string:deal_no>/objections")
@blp.response(200, ObjectionSchema(many=True))
def list_objections(deal_no):
    """一项成交的异议（交易中心审核员、可查看组织交易的工作人员和监管）"""
    user = require_login()
    if not can(user, "trading.view"):
        raise AccessDenied("您没有权限查看异议。")
    deal = _deal(deal_no)
    if not (can(user, "objections.decide", deal.listing.org) or can(user, "trading.view")):
        raise AccessDenied("您没有权限查看异议。")
    return db.session.scalars(select(Objection).where(Objection.deal_id == deal.id)
                              .order_by(Objection.filed_at, Objection.id)).all()


@blp.route("/objections/<int:objection_id>/decision", methods=["POST"])
@authorise("objections.decide")
@blp.arguments(ObjectionDecisionSchema)
@blp.response(200, ObjectionSchema)
def decide_objection(args, objection_id):
    """处理异议：成立（交易中止）或不成立（交易中心审核员）"""
    user = require_login()
    if not can(user, "trading.view"):  # before the lookup: outsiders learn nothing about which ids exist
        raise AccessDenied("您没有权限处理异议。")
    obj = db.session.get(Objection, objection_id)
    if obj is None:
        raise not_found("异议")
    perform(tsvc.decide_objection, user, obj, upheld=args["upheld"], decision=args["decision"])
    return obj


__all__ = ["blp"]
