"""The trade's state machines (第十五条, DESIGN §3.6): a bidding session (scheduled → ended, or cancelled when the
listing is terminated), the deal (成交: 交易公示, 中止 with its listing, 公示期满, void on termination, defaulted by its
buyer) and an objection to it (pending → upheld or dismissed)."""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


class SessionState(States):
    SCHEDULED = "scheduled", "已安排"
    ENDED = "ended", "已结束"
    CANCELLED = "cancelled", "已取消"


BIDDING_SESSION = Machine("bidding_session", SessionState, [
    # its time is up (the sweeper, or the room when the last countdown runs out): the deal, or 流拍
    Transition("end", "结束竞价", frozenset({"scheduled"}), "ended"),
    # the listing is terminated (第二十四条; the termination service authorised the reviewer)
    Transition("cancel", "取消竞价", frozenset({"scheduled"}), "cancelled"),
], scope=lambda s: s.listing.org, what=lambda s: "竞价")


class DealState(States):
    PUBLICITY = "publicity", "交易公示中"
    SUSPENDED = "suspended", "已中止"
    CONFIRMED = "confirmed", "公示期满"
    VOID = "void", "已撤销"
    DEFAULTED = "defaulted", "已认定违约"

    # the deal stands (one per listing; shown to the public, counted in the statistics): not voided, not defaulted
    LIVE = nonmember(frozenset({"publicity", "suspended", "confirmed"}))


DEAL = Machine("deal", DealState, [
    # 交易公示 ended with no objection pending (the sweeper); the listing goes on to 签约
    Transition("confirm", "确认公示期满", frozenset({"publicity"}), "confirmed"),
    # the listing is suspended during 交易公示 (第二十三条) and restarted
    Transition("suspend", "中止交易公示", frozenset({"publicity"}), "suspended"),
    Transition("resume", "恢复交易公示", frozenset({"suspended"}), "publicity"),
    # the listing is terminated (第二十四条)
    Transition("void", "撤销成交", frozenset({"publicity", "suspended", "confirmed", "defaulted"}), "void"),
    # a party did not sign, or the buyer did not pay, in time (第二十二条)
    Transition("default", "认定违约", frozenset({"confirmed"}), "defaulted", "defaults.decide",
               reason_required=True),
], scope=lambda deal: deal.listing.org, what=lambda deal: f"成交 {deal.deal_no} ")


class ObjectionState(States):
    PENDING = "pending", "待处理"
    UPHELD = "upheld", "异议成立"
    DISMISSED = "dismissed", "异议不成立"


OBJECTION = Machine("objection", ObjectionState, [
    Transition("uphold", "认定异议成立", frozenset({"pending"}), "upheld", "objections.decide", reason_required=True),
    Transition("dismiss", "认定异议不成立", frozenset({"pending"}), "dismissed", "objections.decide",
               reason_required=True),
], scope=lambda obj: obj.deal.listing.org, what=lambda obj: "异议")


# --- the trade's clocks and what 中止 / 重启 / 终结 / 违约 do to its rows (exchange/stages.py) ---------------------------

def _declare_stages() -> None:
    from sqlalchemy import select

    from exchange import stages
    from exchange.extensions import db

    def sessions(listing):
        from exchange.trading.models import BiddingSession
        return list(db.session.scalars(select(BiddingSession).where(
            BiddingSession.listing_id == listing.id, BiddingSession.state == "scheduled").order_by(BiddingSession.id)))

    def load_session(session_id):
        from exchange.trading.models import BiddingSession
        return db.session.get(BiddingSession, session_id)

    def cancel_sessions(listing, actor) -> None:
        for bidding in sessions(listing):
            BIDDING_SESSION.fire(bidding, "cancel", actor, authorised=True)
            bidding.outcome = "交易终结，竞价取消"

    def live_deals(listing):
        from exchange.trading.models import Deal
        return list(db.session.scalars(select(Deal).where(Deal.listing_id == listing.id,
                                                          Deal.state.in_(DealState.LIVE))))

    def load_deal(deal_id):
        from exchange.trading.models import Deal
        return db.session.get(Deal, deal_id)

    def latest_deal(listing):
        from exchange.trading.services import deal_for
        return deal_for(listing)

    def suspend_deal(listing, actor) -> None:
        deal = latest_deal(listing)
        if deal is not None and deal.is_publicity:
            DEAL.fire(deal, "suspend", actor, authorised=True)  # 交易公示 stops (the public page says so)

    def resume_deal(listing, actor) -> None:
        deal = latest_deal(listing)
        if deal is not None and deal.is_suspended:
            DEAL.fire(deal, "resume", actor, authorised=True)

    def void_deal(listing, actor) -> None:
        deal = latest_deal(listing)
        if deal is not None:
            DEAL.fire(deal, "void", actor, authorised=True)

    def default_deal(listing, deal, actor, reason: str) -> None:
        DEAL.fire(deal, "default", actor, reason=reason, authorised=True)

    stages.declare(stages.Stage(
        "session", 30, rows=sessions, load=load_session, on_terminate=cancel_sessions,
        clocks=(stages.Clock("starts_at", stages.SECONDS, "竞价开始"),
                stages.Clock("free_end_at", stages.SECONDS, "自由报价期结束"),
                stages.Clock("ends_at", stages.SECONDS, "竞价结束"),
                stages.Clock("hard_end_at", stages.SECONDS, "最迟结束"))))
    stages.declare(stages.Stage(
        "deal", 40, rows=live_deals, load=load_deal, on_suspend=suspend_deal, on_restart=resume_deal,
        on_terminate=void_deal, on_default=default_deal,
        clocks=(stages.Clock("publicity_end_at", stages.WORKDAYS, "交易公示期满"),
                stages.Clock("contract_due_at", stages.WORKDAYS, "签约期限"))))


_declare_stages()
