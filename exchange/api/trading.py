"""Organised trading over the API: bidding sessions (state, bids), deals, objections."""
from __future__ import annotations

from flask import request
from marshmallow import Schema, fields, validate

from exchange.access import AccessDenied, can
from exchange.accounts.models import Role
from exchange.api.common import ApiError, AwareMoment, Id, Int, make_blueprint, not_found, perform, require_login
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
    amount = fields.String()
    state = fields.Dict(metadata={"description": "报价后的竞价状态"})


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
    seconds_left = fields.Float()
    start_price = fields.String()
    increment = fields.String(allow_none=True)
    max_steps = fields.Integer()
    current_price = fields.String(allow_none=True)
    current_price_text = fields.String(allow_none=True)
    current_price_upper = fields.String(allow_none=True, metadata={"description": "当前最高价大写"})
    leader_bidder_no = fields.String(allow_none=True)
    seq = fields.Integer(allow_none=True, metadata={"description": "已接受的报价数（一次性报价开标前为空）"})
    offers = fields.Integer(allow_none=True, metadata={"description": "一次性报价开标前已收到的报价份数"})
    outcome = fields.String()
    deal_no = fields.String(allow_none=True)
    history = fields.List(fields.Dict(), metadata={"description": "最近的报价（竞买号；结束后含名称）"})
    me = fields.Dict(allow_none=True, metadata={"description": "竞买人本人的竞买号、是否领先、下一有效报价等"})


def _session(session_id: int) -> BiddingSession:
    user = require_login()
    session = db.session.get(BiddingSession, session_id)
    if session is None:
        raise not_found("竞价")
    if user.role == Role.PUBLIC:
        if tsvc.bidder_registration(user, session) is None:
            raise AccessDenied("您不是本场竞价的竞买人。")
    elif not can(user, "trading.view"):
        raise AccessDenied("您没有权限查看竞价。")
    return session


@blp.route("/sessions/<int:session_id>/state")
@blp.response(200, RoomStateSchema)
def session_state(session_id):
    """竞价室状态（当前价、领先竞买号、倒计时、报价记录；以服务器时间为准）"""
    session = _session(session_id)
    if session.state == "scheduled" and room.phase(session) == "ended":
        tsvc.close_session(session.id)  # the first look after the end concludes it (idempotent)
        db.session.commit()
        session = db.session.get(BiddingSession, session_id)
    return room.state(session, require_login())


@blp.route("/sessions/<int:session_id>/bids", methods=["POST"])
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
            session = db.session.get(BiddingSession, session_id, populate_existing=True)
            reg = tsvc.bidder_registration(user, session)
            if session.method == "online_bidding" and reg is not None:
                exc.extra.update({"current_price": str(session.current_price) if session.current_price else None,
                                  "next_min": room.next_min(session, reg), "seq": session.seq})
        raise
    session = db.session.get(BiddingSession, session_id)
    return {"accepted": True, "seq": bid.seq, "amount": str(bid.amount), "state": room.state(session, user)}


# --- the trading officer's actions -----------------------------------------------------------------

class SessionSchema(Schema):
    id = fields.Integer()
    listing_id = fields.Integer()
    method = fields.String()
    state = fields.String()
    start_price = fields.Decimal(as_string=True, places=2)
    increment = fields.Decimal(as_string=True, places=2, allow_none=True)
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
    price = fields.Decimal(as_string=True, places=2)
    bidder_no = fields.Function(lambda d: d.registration.bidder_no)
    concluded_at = fields.DateTime()
    state = fields.String()
    publicity_end_at = fields.DateTime()
    contract_due_at = fields.DateTime(allow_none=True)


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
    document = fields.Raw(metadata={"type": "string", "format": "binary", "description": "结果文件（必传）"})


class RelistSchema(Schema):
    floor_price = fields.String(load_default=None)
    reps_for = Int(load_default=None)
    reps_total = Int(load_default=None)


class RelistedSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    relisted_from_id = fields.Integer()
    floor_price = fields.Decimal(as_string=True, places=2)


def _trading_listing(listing_id):
    from exchange.listings.models import Listing
    user = require_login()
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise not_found("项目")
    return user, listing


@blp.route("/listings/<int:listing_id>/sessions/online", methods=["POST"])
@blp.arguments(OnlineScheduleSchema)
@blp.response(201, SessionSchema)
def schedule_online(args, listing_id):
    """安排网络竞价（中心交易员；两个以上已交保证金的竞买人）"""
    user, listing = _trading_listing(listing_id)
    return perform(tsvc.schedule_online, user, listing, **args)


@blp.route("/listings/<int:listing_id>/sessions/sealed", methods=["POST"])
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
@blp.arguments(OfflineSchema, location="form")
@blp.response(201, DealSchema)
def record_offline(args, listing_id):
    """录入拍卖、招投标结果（multipart/form-data，结果文件必传）"""
    user, listing = _trading_listing(listing_id)
    args.pop("document", None)
    return perform(tsvc.record_offline, user, listing, document=request.files.get("document"), **args)


@blp.route("/listings/<int:listing_id>/relist", methods=["POST"])
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


class TerminateSchema(Schema):
    ground = fields.String(required=True, validate=validate.OneOf(["authority", "party", "court", "center", "other"]),
                           metadata={"description": "第二十四条情形：authority 主管部门 / party 当事人申请经批准 / "
                                                    "court 法院通知 / center 中心认为必要经同意 / other 其他"})
    basis = fields.String(required=True, metadata={"description": "终结依据（文件机关、文号、内容）"})
    document = fields.Raw(metadata={"type": "string", "format": "binary", "description": "批准文件扫描件（必传）"})


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
@blp.arguments(TerminateSchema, location="form")
@blp.response(201, TerminationSchema)
def terminate(args, listing_id):
    """终结交易（中心审核员；第二十四条情形及批准文件；结算开始前）：竞价取消、成交作废、保证金全部转入退款"""
    from exchange.exceptions import services as xsvc
    user, listing = _trading_listing(listing_id)
    args.pop("document", None)
    return perform(xsvc.terminate, user, listing, document=request.files.get("document"), **args)


# --- 中止 / 重启 (第二十三条) ---------------------------------------------------------------------------

class SuspendSchema(Schema):
    ground = fields.String(required=True,
                           validate=validate.OneOf(["authority", "party", "title_dispute", "center", "other"]),
                           metadata={"description": "第二十三条情形：authority 主管部门提出 / party 当事人提出经批准 / "
                                                    "title_dispute 权属争议 / center 中心认为必要经同意 / other 其他"})
    basis = fields.String(required=True, metadata={"description": "中止依据（提出或批准的机关、文号、理由）"})
    document = fields.Raw(metadata={"type": "string", "format": "binary", "description": "批准文件扫描件（必传）"})


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
        from exchange.exceptions.suspension import frozen_clocks
        return FrozenClockSchema(many=True).dump(frozen_clocks(s))


class RestartApplySchema(Schema):
    reason = fields.String(required=True, metadata={"description": "申请重启的理由"})


class RestartDecideSchema(Schema):
    approve = fields.Boolean(required=True, metadata={"description": "true 重启 / false 不予重启"})
    decision = fields.String(required=True, metadata={"description": "认定意见"})


@blp.route("/listings/<int:listing_id>/suspend", methods=["POST"])
@blp.arguments(SuspendSchema, location="form")
@blp.response(201, SuspensionSchema)
def suspend(args, listing_id):
    """中止交易（中心审核员；第二十三条情形及批准文件）：所有正在计算的期限冻结"""
    from exchange.exceptions import suspension
    user, listing = _trading_listing(listing_id)
    args.pop("document", None)
    return perform(suspension.suspend, user, listing, document=request.files.get("document"), **args)


@blp.route("/listings/<int:listing_id>/suspensions", methods=["GET"])
@blp.response(200, SuspensionSchema(many=True))
def suspensions(listing_id):
    """项目的中止记录（含冻结的期限及重启后的截止时间）：工作人员在管辖范围内，或交易相关方"""
    from exchange.exceptions import suspension
    user, listing = _trading_listing(listing_id)
    if not (can(user, "listings.view", listing.org) or suspension.may_apply_restart(user, listing)):
        raise AccessDenied("您无权查看该项目的中止记录。")
    return suspension.suspensions_of(listing)


@blp.route("/listings/<int:listing_id>/restart-application", methods=["POST"])
@blp.arguments(RestartApplySchema)
@blp.response(200, SuspensionSchema)
def restart_apply(args, listing_id):
    """申请重启交易（交易相关方，或代其办理的交易点、交易站、交易中心工作人员）"""
    from exchange.exceptions import suspension
    user, listing = _trading_listing(listing_id)
    return perform(suspension.apply_restart, user, listing, **args)


@blp.route("/listings/<int:listing_id>/restart-decision", methods=["POST"])
@blp.arguments(RestartDecideSchema)
@blp.response(200, SuspensionSchema)
def restart_decide(args, listing_id):
    """认定重启申请（中心审核员）：重启时各期限按剩余时间从现在起重新计算"""
    from exchange.exceptions import suspension
    user, listing = _trading_listing(listing_id)
    return perform(suspension.decide_restart, user, listing, **args)
