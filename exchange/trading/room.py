"""What a bidding room shows, computed from the database at each request (any worker process can serve
it: no in-memory state).  Bidders appear only as 竞买号 until the end; sealed offers stay hidden from
everyone, staff included, until the opening time."""
from __future__ import annotations

from exchange import clock
from exchange.money import format_yuan, to_chinese_upper
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession


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


def state(bidding: BiddingSession, viewer=None, *, history: int = 30) -> dict:
    """The room's state for ``viewer`` (a bidder, staff, or None)."""
    now = clock.now()
    ph = phase(bidding, now)
    mine = tsvc.bidder_registration(viewer, bidding) if viewer is not None else None
    revealed = bidding.method == "online_bidding" or ph == "ended"
    bids = _last_bids(bidding, history, with_names=ph == "ended") if revealed else []
    leader = bidding.leader
    deal = tsvc.deal_for(bidding.listing) if ph == "ended" else None
    out = {
        "session_id": bidding.id,
        "method": bidding.method,
        "phase": ph,
        "phase_label": PHASE_LABELS[ph],
        "server_time": now.isoformat(),
        "starts_at": bidding.starts_at.isoformat(),
        "free_end_at": bidding.free_end_at.isoformat(),
        "ends_at": bidding.ends_at.isoformat(),
        "hard_end_at": bidding.hard_end_at.isoformat(),
        "seconds_left": _seconds_left(bidding, ph, now),
        "start_price": str(bidding.start_price),
        "increment": str(bidding.increment) if bidding.increment is not None else None,
        "max_steps": bidding.max_steps,
        "current_price": str(bidding.current_price) if bidding.current_price is not None and revealed else None,
        "current_price_text": format_yuan(bidding.current_price) if bidding.current_price and revealed else None,
        "current_price_upper": to_chinese_upper(bidding.current_price) if bidding.current_price and revealed else None,
        "leader_bidder_no": leader.bidder_no if leader is not None and revealed else None,
        "seq": bidding.seq if revealed else None,
        "offers": bidding.seq if not revealed else None,
        "outcome": bidding.outcome if bidding.state == "ended" else "",
        "deal_no": deal.deal_no if deal else None,
        "history": [{"seq": b.seq, "bidder_no": b.registration.bidder_no, "amount": str(b.amount), "amount_text": format_yuan(b.amount),
                     "at": b.at.isoformat(), "time": clock.to_local(b.at).strftime("%H:%M:%S"),
                     "priority_match": b.priority_match,
                     **({"name": b.registration.buyer.display_name} if ph == "ended" else {})}
                    for b in bids],
        "me": None,
    }
    if mine is not None:
        my_offer = None
        if bidding.method == "sealed_bid":
            from sqlalchemy import select

            from exchange.extensions import db
            from exchange.trading.models import Bid
            b = db.session.scalar(select(Bid).where(Bid.session_id == bidding.id, Bid.registration_id == mine.id))
            my_offer = str(b.amount) if b else None
        out["me"] = {"bidder_no": mine.bidder_no, "leading": bidding.leader_registration_id == mine.id and revealed,
                     "priority_right": mine.priority_right, "my_offer": my_offer,
                     "next_min": next_min(bidding, mine)}
    return out


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
