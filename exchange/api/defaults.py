"""违约 (第二十二条) over the API: declare the default, read the case and its runner-up candidates, offer the deal
to the runner-up, the runner-up's answer (password), relisting.  The same services as the pages."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from exchange.access import AccessDenied, can
from exchange.accounts.models import Role
from exchange.api.common import Exact, Id, Int, make_blueprint, not_found, perform, require_login
from exchange.api.common import authorise, found
from exchange.incidents import breach as dsvc
from exchange.incidents.models import DefaultCase, RunnerUpOffer
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.money import to_chinese_upper

blp = make_blueprint("api_defaults", "", "违约处理：认定违约、没收保证金、向次高报价人要约、重新挂牌")


class OfferSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    listing_id = fields.Function(lambda o: o.case.listing_id)
    project_no = fields.Function(lambda o: o.case.listing.project_no)
    registration_id = fields.Integer()
    bidder_no = fields.Function(lambda o: dsvc.registration_of(o).bidder_no)
    price = Exact(metadata={"description": "要约价格：该报价人本人的最后报价（元）"})
    price_upper = fields.Function(lambda o: to_chinese_upper(o.price), metadata={"description": "价格大写"})
    state = fields.String(metadata={"description": "pending 待答复 / accepted / declined / expired"})
    state_label = fields.String()
    due_at = fields.DateTime(metadata={"description": "答复期限（此刻之前答复）"})
    offered_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    answer_note = fields.String()


class CandidateSchema(Schema):
    registration_id = fields.Function(lambda c: c.registration.id)
    bidder_no = fields.String()
    price = Exact(metadata={"description": "本人最后（最高）有效报价"})
    priority_match = fields.Boolean(metadata={"description": "优先权人以同等价格跟价"})
    offered = fields.String(metadata={"description": "此前要约的状态（空：未要约）"})


class CaseSchema(Schema):
    id = fields.Integer()
    listing_id = fields.Integer()
    deal_id = fields.Integer(metadata={"description": "违约的成交"})
    deal_no = fields.Function(lambda c: dsvc.deal_of(c).deal_no)
    registration_id = fields.Integer(metadata={"description": "该成交的受让方（买受人）的报名"})
    stage = fields.String(metadata={"description": "contract 逾期未签订合同 / settlement 逾期未交清价款"})
    party = fields.String(metadata={"description": "违约方：buyer 受让方（买受人）/ seller 转让方 / both 双方"})
    party_label = fields.String()
    dispute_id = fields.Integer(allow_none=True, metadata={"description": "损失赔偿的纠纷调解记录（第二十七条）"})
    stage_label = fields.String()
    state = fields.String(metadata={"description": "open 待处理 / offered 已要约 / accepted / relisted / closed"})
    state_label = fields.String()
    reason = fields.String()
    forfeited = Exact(metadata={"description": "没收的保证金（元）"})
    forfeit_entry_id = fields.Integer(allow_none=True, metadata={"description": "没收的记账分录"})
    declared_at = fields.DateTime()
    new_deal_id = fields.Integer(allow_none=True, metadata={"description": "次高报价人接受后的新成交"})
    relisting_id = fields.Integer(allow_none=True, metadata={"description": "重新挂牌的新项目"})
    offers = fields.Function(lambda c: OfferSchema(many=True).dump(dsvc.offers_of(c)))
    candidates = fields.Function(
        lambda c: CandidateSchema(many=True).dump(dsvc.runner_up_candidates(c.listing, include_offered=True)),
        metadata={"description": "次高报价人，按报价从高到低"})


class DeclareSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=2000),
                           metadata={"description": "违约的事实和理由（4–2000 字，当事人可见）"})


class OfferArgs(Schema):
    registration_id = Id(required=True, metadata={"description": "次高报价人的报名编号（须按报价从高到低）"})
    days = Int(load_default=dsvc.OFFER_DAYS_DEFAULT,
                          metadata={"description": "答复期限，工作日（1–10，默认 3）"})


class AnswerSchema(Schema):
    accept = fields.Boolean(required=True, metadata={"description": "true 接受；false 放弃"})
    note = fields.String(load_default="", validate=validate.Length(max=500), metadata={"description": "说明"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=200),
                             metadata={"description": "本人登录密码（再次输入以确认）"})


class RelistArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=2000), metadata={"description": "重新挂牌的理由"})
    floor_price = fields.String(load_default=None, allow_none=True, metadata={"description": "新底价（元；不填沿用）"})
    reps_for = Int(load_default=None, allow_none=True,
                              metadata={"description": "同意低于评估值的成员代表人数"})
    reps_total = Int(load_default=None, allow_none=True, minimum=1,
                                metadata={"description": "成员代表总数"})


class RelistResultSchema(Schema):
    case = fields.Nested(CaseSchema)
    relisting_id = fields.Integer()
    relisting_state = fields.String()


def _listing(listing_id: int):
    user = require_login()
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise not_found("项目")
    return user, listing


def _case(case_id: int):
    user = require_login()
    case = db.session.get(DefaultCase, case_id)
    if case is None:
        raise not_found("违约处理记录")
    return user, case


def _may_read(user, listing) -> bool:
    return can(user, "defaults.decide", listing.org) or (user.role != Role.PUBLIC
                                                          and can(user, "listings.view", listing.org))


@blp.route("/listings/<int:listing_id>/default", methods=["POST"])
@authorise("defaults.decide")
@blp.arguments(DeclareSchema)
@blp.response(201, CaseSchema)
def declare(args, listing_id):
    """认定违约（中心审核员；签约或结算期限已过）：违约方为未签署合同（或受让方未付清价款）的一方；成交、合同作废；受让方违约的没收保证金，仅转让方违约的全额退还；项目转入违约处理中"""
    user, listing = _listing(listing_id)
    return perform(dsvc.declare_default, user, listing, reason=args["reason"])


@blp.route("/listings/<int:listing_id>/default")
@blp.response(200, CaseSchema)
def listing_case(listing_id):
    """项目最近一次违约处理（含要约记录和次高报价人）"""
    user, listing = _listing(listing_id)
    if not _may_read(user, listing):
        raise AccessDenied("您没有权限查看违约处理。")
    case = dsvc.current_case(listing)
    if case is None:
        raise not_found("违约处理记录")
    return case


@blp.route("/defaults/<int:case_id>")
@blp.response(200, CaseSchema)
def get_case(case_id):
    """违约处理记录"""
    user, case = _case(case_id)
    if not _may_read(user, case.listing):
        raise AccessDenied("您没有权限查看违约处理。")
    return case


@blp.route("/defaults/<int:case_id>/offers", methods=["POST"])
@authorise("defaults.decide")
@blp.arguments(OfferArgs)
@blp.response(201, OfferSchema)
def offer(args, case_id):
    """向次高报价人要约（中心审核员）：按其本人最后报价，限期（工作日）答复；同时只能有一份待答复的要约"""
    user, case = _case(case_id)
    return perform(dsvc.offer_to_runner_up, user, case, args["registration_id"], days=args["days"])


@blp.route("/defaults/<int:case_id>/relist", methods=["POST"])
@authorise("defaults.decide")
@blp.arguments(RelistArgs)
@blp.response(201, RelistResultSchema)
def relist(args, case_id):
    """违约后重新挂牌（中心审核员）：转为流拍，生成新项目提交交易中心审核"""
    user, case = _case(case_id)
    reason = args.pop("reason")
    copy = perform(dsvc.relist_after_default, user, case, reason, **args)
    return {"case": db.session.get(DefaultCase, case_id), "relisting_id": copy.id, "relisting_state": copy.state}


@blp.route("/offers/<int:offer_id>")
@blp.response(200, OfferSchema)
def get_offer(offer_id):
    """要约（收到要约的报价人本人，或交易中心工作人员）"""
    user = require_login()
    o = db.session.get(RunnerUpOffer, offer_id)
    if o is None:
        raise not_found("要约")
    if not dsvc.may_view_offer(user, o):
        raise AccessDenied("这份要约仅限收到要约的报价人和交易中心工作人员查看。")
    return o


@blp.route("/offers/<int:offer_id>/answer", methods=["POST"])
@authorise(dsvc.authorise_answer, found(RunnerUpOffer, "要约"))
@blp.arguments(AnswerSchema)
@blp.response(200, OfferSchema)
def answer(args, offer_id):
    """答复要约（收到要约的报价人本人，期限前，需本人密码）：接受则新成交进入交易公示；放弃则交易中心另行处理"""
    user = require_login()
    o = db.session.get(RunnerUpOffer, offer_id)
    if o is None:
        raise not_found("要约")
    return perform(dsvc.answer_offer, user, o, args["accept"], args["note"], password=args["password"])
