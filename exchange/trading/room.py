"""What a bidding room shows, computed from the database at each request (any worker process can serve
it: no in-memory state).  Bidders appear only as 竞买号 until the end; sealed offers stay hidden from
everyone, staff included, until the opening time."""
from __future__ import annotations

from decimal import Decimal

from exchange import clock
from exchange.money import format_yuan, to_chinese_upper
from exchange.trading import documents as docs
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession
from exchange.workdays.display import fmt_dt, fmt_due


def phase(bidding: BiddingSession, now=None) -> str:
    now = now or clock.now()
    if bidding.state == "cancelled":
        return "cancelled"
    if bidding.state == "scheduled" and bidding.listing.state == "suspended":
        return "suspended"  # 中止: the clock is frozen until the restart
    if bidding.state == "ended" or now >= bidding.ends_at:
        return "ended"
    if now < bidding.starts_at:
        return "waiting"
    if bidding.method == "sealed_bid":
        return "sealed_open" if now < bidding.free_end_at else "sealed_closed"
    return "free" if now < bidding.free_end_at else "timed"


PHASE_LABELS = {"waiting": "等待开始", "free": "自由报价期", "timed": "限时报价期", "ended": "已结束",
                "sealed_open": "接受报价中", "sealed_closed": "报价已截止，等待开标", "cancelled": "已取消",
                "suspended": "交易已中止（计时暂停，重启后按剩余时间继续）"}


def _seconds_left(bidding: BiddingSession, ph: str, now) -> float:
    if ph == "ended":
        return 0.0
    if ph == "suspended":  # what was left when the listing was suspended (frozen): it is suspended since then
        listing = bidding.listing
        at = listing.state_since if listing.state == "suspended" and listing.state_since else now
        return max(0.0, (bidding.ends_at - at).total_seconds())
    return max(0.0, (bidding.ends_at - now).total_seconds())


COUNTDOWN_LABELS = {"waiting": "距开始", "sealed_open": "距报价截止", "sealed_closed": "距开标"}


def _countdown(bidding: BiddingSession, ph: str, now) -> tuple[str, float]:
    """What the room's big clock counts down to, and the seconds left: before the start the time to the start
    (not to the end), in a sealed bid the time to the close of offers and then to the opening."""
    label = COUNTDOWN_LABELS.get(ph, "剩余时间")
    if ph == "waiting":
        return label, max(0.0, (bidding.starts_at - now).total_seconds())
    if ph == "sealed_open":
        return label, max(0.0, (bidding.free_end_at - now).total_seconds())
    return label, _seconds_left(bidding, ph, now)


def countdown_text(seconds: float) -> str:
    """A countdown as the room shows it (room.js writes it the same way): 4:05, 1:04:05, 2 天 1:04:05."""
    s = max(0, int(-(-seconds // 1)))  # whole seconds, rounded up: 0.2 s left is still 0:01
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    text = f"{h}:{m:02d}:{s:02d}" if h or d else f"{m}:{s:02d}"
    return f"{d} 天 {text}" if d else text


def state(bidding: BiddingSession, viewer=None, *, history: int = 30) -> dict:
    """The room's state for ``viewer`` (a bidder, staff, or None)."""
    now = clock.now()
    ph = phase(bidding, now)
    mine = tsvc.bidder_registration(viewer, bidding) if viewer is not None else None
    revealed = bidding.method == "online_bidding" or ph == "ended"
    bids = _last_bids(bidding, history, with_names=ph == "ended") if revealed else []
    leader = bidding.leader
    deal = tsvc.deal_for(bidding.listing) if ph == "ended" else None
    if deal is not None and deal.session_id != bidding.id:
        deal = None
    countdown_label, countdown_seconds = _countdown(bidding, ph, now)
    name_of = docs.full_name  # once the session has ended: the party's name (DESIGN §3.6)
    out = {
        "session_id": bidding.id,
        "method": bidding.method,
        "phase": ph,
        "phase_label": PHASE_LABELS[ph],
        "server_time": now.isoformat(),
        "starts_at": bidding.starts_at.isoformat(),
        "starts_at_text": fmt_dt(bidding.starts_at),
        "free_end_at": bidding.free_end_at.isoformat(),
        "ends_at": bidding.ends_at.isoformat(),
        "hard_end_at": bidding.hard_end_at.isoformat(),
        "seconds_left": _seconds_left(bidding, ph, now),
        "countdown_label": countdown_label,
        "countdown_seconds": countdown_seconds,
        "countdown_text": countdown_text(countdown_seconds),
        "start_price": str(bidding.start_price),
        "increment": str(bidding.increment) if bidding.increment is not None else None,
        "max_steps": bidding.max_steps,
        "price_label": "成交价" if deal is not None else "当前最高价",
        "current_price": str(bidding.current_price) if bidding.current_price is not None and revealed else None,
        "current_price_text": format_yuan(bidding.current_price) if bidding.current_price and revealed else None,
        "current_price_upper": to_chinese_upper(bidding.current_price) if bidding.current_price and revealed else None,
        "leader_label": "竞得竞买号" if deal is not None else "领先竞买号",
        "leader_bidder_no": leader.bidder_no if leader is not None and revealed else None,
        "seq": bidding.seq if revealed else None,
        "offers": bidding.seq if not revealed else None,
        "outcome": bidding.outcome if bidding.state == "ended" else "",
        "deal_no": deal.deal_no if deal else None,
        "history": [{"seq": b.seq, "bidder_no": b.registration.bidder_no, "amount": str(b.amount), "amount_text": format_yuan(b.amount),
                     "at": b.at.isoformat(), "time": clock.to_local(b.at).strftime("%H:%M:%S"),
                     "priority_match": b.priority_match,
                     **({"name": name_of(b.registration.buyer)} if ph == "ended" else {})}
                    for b in bids],
        "me": None,
    }
    if mine is not None:
        my_bid = _my_last_bid(bidding, mine)
        my_offer = str(my_bid.amount) if my_bid is not None and bidding.method == "sealed_bid" else None
        leading = bidding.leader_registration_id == mine.id and revealed
        me = {"bidder_no": mine.bidder_no, "leading": leading, "priority_right": mine.priority_right,
              "my_offer": my_offer, "next_min": next_min(bidding, mine),
              "outbid": (bidding.method == "online_bidding" and my_bid is not None and not leading
                         and ph in ("free", "timed"))}
        me["result"] = _result(bidding, ph, deal, mine)
        me["status"] = _status(bidding, ph, deal, mine, me, out)
        out["me"] = me
    return out


def _my_last_bid(bidding: BiddingSession, reg):
    from sqlalchemy import select

    from exchange.extensions import db
    from exchange.trading.models import Bid
    return db.session.scalar(select(Bid).where(Bid.session_id == bidding.id, Bid.registration_id == reg.id)
                             .order_by(Bid.seq.desc()).limit(1))


def _result(bidding: BiddingSession, ph: str, deal, reg) -> str | None:
    """won / lost / failed (流拍) once the session has its result; None before."""
    if ph != "ended" or bidding.state != "ended":
        return None
    if deal is None:
        return "failed"
    return "won" if deal.registration_id == reg.id else "lost"


def _refund_text(reg) -> str:
    """When the bidder's deposit comes back (第十九条(二)): the refund's due time once it is opened."""
    from sqlalchemy import select

    from exchange.extensions import db
    from exchange.ledger.models import Refund
    refund = db.session.scalar(select(Refund).where(Refund.registration_id == reg.id))
    if refund is None:
        return "您交纳的保证金将在 5 个工作日内无息原路退还（第十九条），无需另行申请。"
    if refund.state == "paid":
        return f"您交纳的保证金 {format_yuan(refund.amount)} 元已退还。"
    return (f"您交纳的保证金 {format_yuan(refund.amount)} 元将于 {fmt_due(refund.due_at, mark=False)} 前无息原路退还"
            "（第十九条），无需另行申请。")


def _status(bidding: BiddingSession, ph: str, deal, reg, me: dict, out: dict) -> dict:
    """The one sentence that tells this bidder where they stand; its tone (success / error / info / warning) is the
    alert it shows in."""
    price = out["current_price_text"]
    priority = ("您享有优先权：可按当前最高价报价并领先（同等条件优先）。"
                if reg.priority_right and ph in ("waiting", "free", "timed") else "")
    result = me["result"]
    if result == "won":
        text = f"竞价已结束，您竞得本项目，成交价 {format_yuan(deal.price)} 元（{to_chinese_upper(deal.price)}）。"
        if deal.is_publicity:
            text += (f"现进入交易公示（至 {fmt_due(deal.publicity_end_at, mark=False)}），公示期满后 5 个工作日内"
                     "签订合同，届时另行通知。")
        text += "您交纳的保证金将抵作部分价款。"
        return {"tone": "success", "text": text}
    if result == "lost":
        return {"tone": "info", "text": f"竞价已结束，您未竞得本项目（竞买号 {deal.registration.bidder_no} 以 "
                                        f"{format_yuan(deal.price)} 元竞得）。" + _refund_text(reg)}
    if result == "failed":
        return {"tone": "info", "text": "竞价已结束，没有有效报价，本项目流拍。" + _refund_text(reg)}
    if ph == "ended":
        return {"tone": "info", "text": "竞价时间已到，正在确定结果，请稍候…"}
    if ph == "cancelled":
        return {"tone": "info", "text": "本场竞价已取消。"}
    if ph == "suspended":
        return {"tone": "warning", "text": "交易已中止，暂停报价；重启后按剩余时间继续。"}
    if ph == "waiting":
        return {"tone": "info", "text": f"竞价尚未开始，{out['starts_at_text']} 开始后可以报价。" + priority}
    if ph == "sealed_open":
        if me["my_offer"]:
            return {"tone": "success", "text": f"您已提交报价 {format_yuan(Decimal(me['my_offer']))} 元，开标前对任何人保密，不能修改。"}
        return {"tone": "info", "text": "一次性报价：每人只能报一次，提交后不能修改，请仔细核对金额。"}
    if ph == "sealed_closed":
        offer = f"您的报价 {format_yuan(Decimal(me['my_offer']))} 元已提交。" if me["my_offer"] else "您没有提交报价。"
        return {"tone": "info", "text": f"报价已截止，{fmt_dt(bidding.ends_at)} 开标。" + offer}
    if me["leading"]:
        return {"tone": "success", "text": f"您是当前最高报价人（{price} 元）。如无人加价，倒计时结束时您将竞得。"}
    nxt = format_yuan(Decimal(me["next_min"])) if me["next_min"] else ""
    if me["outbid"]:
        return {"tone": "error", "text": f"您的报价已被超过！当前最高价 {price} 元（竞买号 {out['leader_bidder_no']}）。"
                                          f"要继续竞买，请报 {nxt} 元或更高。" + priority}
    return {"tone": "info", "text": f"您还没有报价，最低可报 {nxt} 元。" + priority}


def _last_bids(bidding: BiddingSession, n: int, *, with_names: bool):
    """The last ``n`` bids, newest first, with their registrations (and buyers once names may show)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from exchange.extensions import db
    from exchange.registrations.models import Registration
    from exchange.trading.models import Bid
    load = selectinload(Bid.registration)
    if with_names:
        load = load.selectinload(Registration.buyer)
    return list(db.session.scalars(select(Bid).where(Bid.session_id == bidding.id).options(load)
                                   .order_by(Bid.seq.desc()).limit(n)))


def next_min(bidding: BiddingSession, reg) -> str | None:
    if bidding.method != "online_bidding":
        return None
    if bidding.current_price is None:
        return str(bidding.start_price)
    if reg.priority_right and not bidding.leader_priority and bidding.leader_registration_id != reg.id:
        return str(bidding.current_price)  # may match (同等条件优先)
    return str(bidding.current_price + bidding.increment)
