"""Organised trading over the API: bidding sessions (state, bids), deals, objections."""
from __future__ import annotations

from flask import request
from marshmallow import Schema, fields, validate

from exchange.access import AccessDenied, can
from exchange.accounts.models import Role
from exchange.api.common import (ApiError, AwareMoment, Exact, File, Id, Int, make_blueprint, not_found, perform,
                                 require_login)
from exchange.api.common import authorise, found
from exchange.incidents import termination as xsvc
from exchange.incidents import suspension
from exchange.listings.models import Listing
from exchange.api.contracts import ContractSchema
from exchange.api.settlement import SettlementSchema
from exchange.extensions import db
from exchange.trading import room
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession

blp = make_blueprint("api_trading", "", "组织交易：网络竞价、一次性报价、成交与交易公示")


class BidSchema(Schema):
    amount = fields.String(required=True, metadata={"description": "报价（元）：当前最高价 + k × 加价幅度"})
    key = fields.String(required=True, validate=validate.Length(min=8, max=64),
                        metadata={"description": "防重复标识：同一次报价重发时使用同一个值，只会被接受一次"})


class BidResultSchema(Schema):
    accepted = fields.Boolean()
    seq = fields.Integer()
    amount = Exact()
    state = fields.Nested(lambda: RoomStateSchema(), metadata={"description": "报价后的竞价状态"})


class RoomStateSchema(Schema):
    session_id = fields.Integer()
    method = fields.String()
    phase = fields.String(metadata={"description": "waiting / free / timed / ended / sealed_open / sealed_closed"})
    phase_label = fields.String()
    server_time = fields.String(metadata={"description": "服务器时间（倒计时以此为准）"})
    starts_at = fields.String()
    free_end_at = fields.String(metadata={"description": "自由报价期结束、限时报价期开始"})
    ends_at = fields.String(metadata={"description": "当前结束时间（限时报价期每次有效报价后延后）"})
    hard_end_at = fields.String(metadata={"description": "最迟结束时间"})
    seconds_left = fields.Float(metadata={"description": "距结束的秒数"})
    starts_at_text = fields.String(metadata={"description": "开始时间（北京时间）"})
    countdown_label = fields.String(metadata={"description": "倒计时的含义：距开始 / 剩余时间 / 距报价截止 / 距开标"})
    countdown_seconds = fields.Float(metadata={"description": "倒计时秒数（开始前为距开始的秒数）"})
    countdown_text = fields.String(metadata={"description": "倒计时的文字，如 4:05、1:04:05"})
    price_label = fields.String(metadata={"description": "当前最高价 / 成交价"})
    leader_label = fields.String(metadata={"description": "领先竞买号 / 竞得竞买号"})
    start_price = Exact()
    increment = Exact(allow_none=True)
    max_steps = fields.Integer()
    current_price = Exact(allow_none=True)
    current_price_text = fields.String(allow_none=True)
    current_price_upper = fields.String(allow_none=True, metadata={"description": "当前最高价大写"})
    leader_bidder_no = fields.String(allow_none=True)
    seq = fields.Integer(allow_none=True, metadata={"description": "已接受的报价数（一次性报价开标前为空）"})
    offers = fields.Integer(allow_none=True, metadata={"description": "一次性报价开标前已收到的报价份数"})
    outcome = fields.String()
    deal_no = fields.String(allow_none=True)
    history = fields.List(fields.Dict(), metadata={"description": "最近的报价（竞买号；结束后含名称）"})
    me = fields.Dict(allow_none=True, metadata={"description": "竞买人本人的竞买号、是否领先、是否已被超过（outbid）、"
                                                              "下一有效报价、结果（result：won / lost / failed）和"
                                                              "给本人的提示（status：tone、text）"})


def _session(session_id: int) -> BiddingSession:
    user = require_login()
    bidding = db.session.get(BiddingSession, session_id)
    if bidding is None:
        raise not_found("竞价")
    if user.role == Role.PUBLIC:
        if tsvc.bidder_registration(user, bidding) is None:
            raise AccessDenied("您不是本场竞价的竞买人。")
    elif not can(user, "trading.view"):
        raise AccessDenied("您没有权限查看竞价。")
    return bidding


@blp.route("/sessions/<int:session_id>/state")
@blp.response(200, RoomStateSchema)
def session_state(session_id):
    """竞价室状态（当前价、领先竞买号、倒计时、报价记录；以服务器时间为准）。只读：时间到后的结果由“结束竞价”或定时任务生成"""
    bidding = _session(session_id)
    return room.state(bidding, require_login())


@blp.route("/sessions/<int:session_id>/close", methods=["POST"])
@blp.response(200, RoomStateSchema)
def close_session(session_id):
    """结束时间已到的竞价并生成结果（竞买人或交易组织人员在倒计时归零时发起；幂等，结果只由报价和时间决定；未到时间不改变任何数据）"""
    user = require_login()
    bidding = _session(session_id)  # who asks first: a stranger learns nothing of the session
    if user.role != Role.PUBLIC and not can(user, "trading.manage"):
        raise AccessDenied("只有竞买人或交易组织人员可以结束竞价。")
    if bidding.state == "scheduled" and room.phase(bidding) == "ended":
        perform(tsvc.close_session, bidding.id)  # the deal, or 流拍 — as the sweeper would a minute later
        bidding = db.session.get(BiddingSession, session_id)
    return room.state(bidding, user)


@blp.route("/sessions/<int:session_id>/bids", methods=["POST"])
@authorise(tsvc.authorise_bid, found(BiddingSession, "竞价"))
@blp.arguments(BidSchema)
@blp.response(201, BidResultSchema)
def place_bid(args, session_id):
    """报价（竞买人）：被接受返回 201；不符合规则返回 400 及原因；同一 key 重发只接受一次"""
    user = require_login()
    if db.session.get(BiddingSession, session_id) is None:
        raise not_found("竞价")
    try:
        bid = perform(tsvc.place_bid, user, session_id, args["amount"], key=args["key"], ip=request.remote_addr or "")
    except ApiError as exc:
        if exc.status == 400:  # refused: tell the bidder where the price stands, so a retry needs no extra read
            bidding = db.session.get(BiddingSession, session_id, populate_existing=True)
            reg = tsvc.bidder_registration(user, bidding)
            if bidding.method == "online_bidding" and reg is not None:
                exc.extra.update({"current_price": str(bidding.current_price) if bidding.current_price else None,
                                  "next_min": room.next_min(bidding, reg), "seq": bidding.seq})
        raise
    bidding = db.session.get(BiddingSession, session_id)
    return {"accepted": True, "seq": bid.seq, "amount": str(bid.amount), "state": room.state(bidding, user)}


# --- the trading officer's actions -----------------------------------------------------------------

class SessionSchema(Schema):
    id = fields.Integer()
    listing_id = fields.Integer()
    method = fields.String()
    state = fields.String()
    start_price = Exact()
    increment = Exact(allow_none=True)
    max_steps = fields.Integer()
    starts_at = fields.DateTime()
    free_end_at = fields.DateTime()
    countdown_seconds = fields.Integer()
    hard_end_at = fields.DateTime()
    ends_at = fields.DateTime()
    outcome = fields.String()


class DealSchema(Schema):
    id = fields.Integer()
    deal_no = fields.String()
    listing_id = fields.Integer()
    method = fields.String()
    method_label = fields.String()
    price = Exact()
    bidder_no = fields.Function(lambda d: d.registration.bidder_no)
    concluded_at = fields.DateTime()
    state = fields.String()
    publicity_end_at = fields.DateTime()
    contract_due_at = fields.DateTime(allow_none=True)
    session_id = fields.Integer(allow_none=True, metadata={"description": "成交所在的竞价场次（协议转让、线下交易为 null）"})
    contract_id = fields.Function(
        lambda d: _contract_id(d),
        metadata={"description": "成交合同（GET /deals/{id}/contract 或 /contracts/{contract_id}）；尚未生成时为 null",
                  "type": "integer", "nullable": True})
    settlement_id = fields.Function(
        lambda d: _settlement_id(d),
        metadata={"description": "资金结算（GET /deals/{id}/settlement 或 /settlements/{settlement_id}）；合同生效前为 null",
                  "type": "integer", "nullable": True})


def _contract_id(deal) -> int | None:
    from exchange.contracts.services import contract_for_deal
    contract = contract_for_deal(deal)
    return contract.id if contract is not None else None


def _settlement_id(deal) -> int | None:
    from exchange.settlement.services import for_deal
    settlement = for_deal(deal)
    return settlement.id if settlement is not None else None


class OnlineScheduleSchema(Schema):
    starts_at = AwareMoment(required=True, default_timezone=None,
                                     metadata={"description": "开始时间（带时区，如 2026-12-10T09:30:00+08:00）"})
    free_minutes = Int(load_default=30)
    countdown_seconds = Int(load_default=300)
    max_extension_minutes = Int(load_default=120)
    increment = fields.String(load_default=None)
    max_steps = Int(load_default=10)


class SealedScheduleSchema(Schema):
    starts_at = AwareMoment(required=True)
    closes_at = AwareMoment(required=True)
    opens_at = AwareMoment(required=True)


class OfflineSchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(["auction", "tender"]))
    registration_id = Id(required=True)
    price = fields.String(required=True)
    held_on = fields.String(required=True, metadata={"description": "举行日期 YYYY-MM-DD"})
    note = fields.String(load_default="")
    document = File(required=True, metadata={"description": "结果文件（必传）"})


class RelistSchema(Schema):
    floor_price = fields.String(load_default=None)
    reps_for = Int(load_default=None)
    reps_total = Int(load_default=None)


class RelistedSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    relisted_from_id = fields.Integer()
    floor_price = Exact()


def _trading_listing(listing_id):
    from exchange.listings.models import Listing
    user = require_login()
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise not_found("项目")
    return user, listing


@blp.route("/listings/<int:listing_id>/sessions/online", methods=["POST"])
@authorise("trading.manage")
@blp.arguments(OnlineScheduleSchema)
@blp.response(201, SessionSchema)
def schedule_online(args, listing_id):
    """安排网络竞价（中心交易员；两个以上已交保证金的竞买人）"""
    user, listing = _trading_listing(listing_id)
    return perform(tsvc.schedule_online, user, listing, **args)


@blp.route("/listings/<int:listing_id>/sessions/sealed", methods=["POST"])
@authorise("trading.manage")
@blp.arguments(SealedScheduleSchema)
@blp.response(201, SessionSchema)
def schedule_sealed(args, listing_id):
    """安排一次性报价（开标前报价对任何人保密）"""
    user, listing = _trading_listing(listing_id)
    return perform(tsvc.schedule_sealed, user, listing, **args)


@blp.route("/listings/<int:listing_id>/agreement", methods=["POST"])
@blp.response(201, DealSchema)
def confirm_agreement(listing_id):
    """确认协议转让成交（只有一个已交保证金的受让方时）"""
    user, listing = _trading_listing(listing_id)
    return perform(tsvc.confirm_agreement, user, listing)


@blp.route("/listings/<int:listing_id>/offline-result", methods=["POST"])
@authorise("trading.manage")
@blp.arguments(OfflineSchema, location="multipart")
@blp.response(201, DealSchema)
def record_offline(args, listing_id):
    """录入拍卖、招投标结果（multipart/form-data，结果文件必传）"""
    user, listing = _trading_listing(listing_id)
    return perform(tsvc.record_offline, user, listing, document=args.pop("document", None), **args)


@blp.route("/listings/<int:listing_id>/relist", methods=["POST"])
@authorise("listings.relist")
@blp.arguments(RelistSchema)
@blp.response(201, RelistedSchema)
def relist(args, listing_id):
    """流拍项目重新挂牌（中心审核员）：生成新项目并提交审核"""
    user, listing = _trading_listing(listing_id)
    return perform(tsvc.relist, user, listing, **args)


@blp.route("/listings/<int:listing_id>/deal")
@blp.response(200, DealSchema)
def get_deal(listing_id):
    """项目的成交信息"""
    user, listing = _trading_listing(listing_id)
    if not can(user, "trading.view"):
        raise AccessDenied("您没有权限查看成交信息。")
    deal = tsvc.deal_for(listing)
    if deal is None:
        raise not_found("成交信息")
    return deal


@blp.route("/listings/<int:listing_id>/session")
@blp.response(200, SessionSchema)
def listing_session(listing_id):
    """项目的竞价场次（保证金已到账的竞买人，或可查看组织交易的工作人员）：再以 GET /sessions/{id}/state 进入竞价室"""
    user, listing = _trading_listing(listing_id)
    if user.role == Role.PUBLIC:  # who asks first: a stranger learns nothing of the trading
        if tsvc.listing_bidder_registration(user, listing.id) is None:
            raise AccessDenied("您不是本项目保证金已到账的竞买人。")
    elif not can(user, "trading.view"):
        raise AccessDenied("您没有权限查看竞价。")
    bidding = tsvc.active_session(listing)
    if bidding is None:
        raise not_found("竞价场次")
    return bidding


def _deal_for(deal_id: int, may_see) -> tuple:
    """The deal, once ``may_see(user, deal)`` allows the caller (before anything about its state is told)."""
    from exchange.trading.models import Deal
    user = require_login()
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        raise not_found("成交")
    if not may_see(user, deal):
        raise AccessDenied("您没有权限查看该成交的合同与结算。")
    return user, deal


def _party(user, deal) -> bool:
    return deal.buyer_id == user.id or deal.listing.transferor_user_id == user.id


@blp.route("/deals/<int:deal_id>/contract")
@blp.response(200, ContractSchema)
def deal_contract(deal_id):
    """成交的合同（交易双方、管辖范围内的工作人员）；尚未生成合同时为 404"""
    from exchange.contracts import services as csvc
    user, deal = _deal_for(deal_id, lambda u, d: _party(u, d) or (
        u.role != Role.PUBLIC and can(u, "listings.view", d.listing.org)))
    contract = csvc.contract_for_deal(deal)
    if contract is None:
        raise not_found("合同")
    csvc.require_view(user, contract)
    return contract


@blp.route("/deals/<int:deal_id>/settlement")
@blp.response(200, SettlementSchema)
def deal_settlement(deal_id):
    """成交的资金结算（受让方、转让方本人，中心财务、监管）；合同生效前为 404"""
    from exchange.settlement import services as stl
    user, deal = _deal_for(deal_id, lambda u, d: _party(u, d) or stl.is_staff_viewer(u))
    settlement = stl.for_deal(deal)
    if settlement is None:
        raise not_found("结算")
    stl.require_view(user, settlement)
    return settlement


class TerminateSchema(Schema):
    ground = fields.String(required=True, validate=validate.OneOf(["authority", "party", "court", "center", "other"]),
                           metadata={"description": "第二十四条情形：authority 主管部门 / party 当事人申请经批准 / "
                                                    "court 法院通知 / center 中心认为必要经同意 / other 其他"})
    basis = fields.String(required=True, metadata={"description": "终结依据（文件机关、文号、内容）"})
    document = File(required=True, metadata={"description": "批准文件扫描件（必传）"})


class TerminationSchema(Schema):
    id = fields.Integer()
    listing_id = fields.Integer()
    ground = fields.String()
    ground_label = fields.String()
    basis = fields.String()
    from_state = fields.String()
    refunds_opened = fields.Integer()
    decided_at = fields.DateTime()


@blp.route("/listings/<int:listing_id>/terminate", methods=["POST"])
@authorise(xsvc.authorise_terminate, found(Listing, "项目"))
@blp.arguments(TerminateSchema, location="multipart")
@blp.response(201, TerminationSchema)
def terminate(args, listing_id):
    """终结交易（中心审核员；第二十四条情形及批准文件；结算开始前）：竞价取消、成交作废、保证金全部转入退款"""
    from exchange.incidents import termination as xsvc
    user, listing = _trading_listing(listing_id)
    return perform(xsvc.terminate, user, listing, document=args.pop("document", None), **args)


# --- 中止 / 重启 (第二十三条) ---------------------------------------------------------------------------

class SuspendSchema(Schema):
    ground = fields.String(required=True,
                           validate=validate.OneOf(["authority", "party", "title_dispute", "center", "other"]),
                           metadata={"description": "第二十三条情形：authority 主管部门提出 / party 当事人提出经批准 / "
                                                    "title_dispute 权属争议 / center 中心认为必要经同意 / other 其他"})
    basis = fields.String(required=True, metadata={"description": "中止依据（提出或批准的机关、文号、理由）"})
    document = File(required=True, metadata={"description": "批准文件扫描件（必传）"})


class FrozenClockSchema(Schema):
    model = fields.String(metadata={"description": "listing / registration / session / deal / contract / settlement"})
    id = fields.Integer()
    field = fields.String()
    label = fields.String()
    kind = fields.String(metadata={"description": "workdays 工作日 / days 天 / seconds 秒"})
    remaining = fields.Integer(metadata={"description": "中止时剩余（单位见 kind）"})
    due = fields.String(metadata={"description": "中止前的截止时间"})
    restored = fields.String(metadata={"description": "重启后的截止时间"})


class SuspensionSchema(Schema):
    id = fields.Integer()
    listing_id = fields.Integer()
    state = fields.String(metadata={"description": "active / restart_requested / restarted / terminated"})
    ground = fields.String()
    ground_label = fields.String()
    basis = fields.String()
    from_state = fields.String()
    suspended_at = fields.DateTime()
    restart_reason = fields.String()
    restart_requested_at = fields.DateTime(allow_none=True)
    restart_decision = fields.String()
    restarted_at = fields.DateTime(allow_none=True)
    clocks = fields.Method("_clocks")

    def _clocks(self, s):
        from exchange.incidents.suspension import frozen_clocks
        return FrozenClockSchema(many=True).dump(frozen_clocks(s))


class RestartApplySchema(Schema):
    reason = fields.String(required=True, metadata={"description": "申请重启的理由"})


class RestartDecideSchema(Schema):
    approve = fields.Boolean(required=True, metadata={"description": "true 重启 / false 不予重启"})
    decision = fields.String(required=True, metadata={"description": "认定意见"})


@blp.route("/listings/<int:listing_id>/suspend", methods=["POST"])
@authorise(suspension.authorise_suspend, found(Listing, "项目"))
@blp.arguments(SuspendSchema, location="multipart")
@blp.response(201, SuspensionSchema)
def suspend(args, listing_id):
    """中止交易（中心审核员；第二十三条情形及批准文件）：所有正在计算的期限冻结"""
    from exchange.incidents import suspension
    user, listing = _trading_listing(listing_id)
    return perform(suspension.suspend, user, listing, document=args.pop("document", None), **args)


@blp.route("/listings/<int:listing_id>/suspensions", methods=["GET"])
@blp.response(200, SuspensionSchema(many=True))
def suspensions(listing_id):
    """项目的中止记录（含冻结的期限及重启后的截止时间）：工作人员在管辖范围内，或交易相关方"""
    from exchange.incidents import suspension
    user, listing = _trading_listing(listing_id)
    if not (can(user, "listings.view", listing.org) or suspension.may_apply_restart(user, listing)):
        raise AccessDenied("您无权查看该项目的中止记录。")
    return suspension.suspensions_of(listing)


@blp.route("/listings/<int:listing_id>/restart-application", methods=["POST"])
@authorise(suspension.authorise_restart_apply, found(Listing, "项目"))
@blp.arguments(RestartApplySchema)
@blp.response(200, SuspensionSchema)
def restart_apply(args, listing_id):
    """申请重启交易（交易相关方，或代其办理的交易点、交易站、交易中心工作人员）"""
    from exchange.incidents import suspension
    user, listing = _trading_listing(listing_id)
    return perform(suspension.apply_restart, user, listing, **args)


@blp.route("/listings/<int:listing_id>/restart-decision", methods=["POST"])
@authorise(suspension.authorise_suspend, found(Listing, "项目"))
@blp.arguments(RestartDecideSchema)
@blp.response(200, SuspensionSchema)
def restart_decide(args, listing_id):
    """认定重启申请（中心审核员）：重启时各期限按剩余时间从现在起重新计算"""
    from exchange.incidents import suspension
    user, listing = _trading_listing(listing_id)
    return perform(suspension.decide_restart, user, listing, **args)
