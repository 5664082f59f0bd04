"""What a bidding room shows, computed from the database at each request (any worker process can serve
it: no in-memory state).  Bidders appear only as 竞买号 until the end; sealed offers stay hidden from
everyone, staff included, until the opening time."""
from __future__ import annotations

from exchange import clock
from exchange.money import format_yuan, to_chinese_upper
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession


def phase(session: BiddingSession, now=None) -> str:
    now = now or clock.now()
    if session.state == "cancelled":
        return "cancelled"
    if session.state == "scheduled" and session.listing.state == "suspended":
        return "suspended"  # 中止: the clock is frozen until the restart
    if session.state == "ended" or now >= session.ends_at:
        return "ended"
    if now < session.starts_at:
        return "waiting"
    if session.method == "sealed_bid":
        return "sealed_open" if now < session.free_end_at else "sealed_closed"
    return "free" if now < session.free_end_at else "timed"


PHASE_LABELS = {"waiting": "等待开始", "free": "自由报价期", "timed": "限时报价期", "ended": "已结束",
                "sealed_open": "接受报价中", "sealed_closed": "报价已截止，等待开标", "cancelled": "已取消",
                "suspended": "交易已中止（计时暂停，重启后按剩余时间继续）"}


def _seconds_left(session: BiddingSession, ph: str, now) -> float:
    if ph == "ended":
        return 0.0
    if ph == "suspended":  # what was left when the listing was suspended (frozen): it is suspended since then
        listing = session.listing
        at = listing.state_since if listing.state == "suspended" and listing.state_since else now
        return max(0.0, (session.ends_at - at).total_seconds())
    return max(0.0, (session.ends_at - now).total_seconds())


def state(session: BiddingSession, viewer=None, *, history: int = 30) -> dict:
    """The room's state for ``viewer`` (a bidder, staff, or None)."""
    now = clock.now()
    ph = phase(session, now)
    mine = tsvc.bidder_registration(viewer, session) if viewer is not None else None
    revealed = session.method == "online_bidding" or ph == "ended"
    bids = _last_bids(session, history, with_names=ph == "ended") if revealed else []
    leader = session.leader
    deal = tsvc.deal_for(session.listing) if ph == "ended" else None
    out = {
        "session_id": session.id,
        "method": session.method,
        "phase": ph,
        "phase_label": PHASE_LABELS[ph],
        "server_time": now.isoformat(),
        "starts_at": session.starts_at.isoformat(),
        "free_end_at": session.free_end_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "hard_end_at": session.hard_end_at.isoformat(),
        "seconds_left": _seconds_left(session, ph, now),
        "start_price": str(session.start_price),
        "increment": str(session.increment) if session.increment is not None else None,
        "max_steps": session.max_steps,
        "current_price": str(session.current_price) if session.current_price is not None and revealed else None,
        "current_price_text": format_yuan(session.current_price) if session.current_price and revealed else None,
        "current_price_upper": to_chinese_upper(session.current_price) if session.current_price and revealed else None,
        "leader_bidder_no": leader.bidder_no if leader is not None and revealed else None,
        "seq": session.seq if revealed else None,
        "offers": session.seq if not revealed else None,
        "outcome": session.outcome if session.state == "ended" else "",
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
        if session.method == "sealed_bid":
            from sqlalchemy import select

            from exchange.extensions import db
            from exchange.trading.models import Bid
            b = db.session.scalar(select(Bid).where(Bid.session_id == session.id, Bid.registration_id == mine.id))
            my_offer = str(b.amount) if b else None
        out["me"] = {"bidder_no": mine.bidder_no, "leading": session.leader_registration_id == mine.id and revealed,
                     "priority_right": mine.priority_right, "my_offer": my_offer,
                     "next_min": next_min(session, mine)}
    return out


def _last_bids(session: BiddingSession, n: int, *, with_names: bool):
    """The last ``n`` bids, newest first, with their registrations (and buyers once names may show)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from exchange.extensions import db
    from exchange.registrations.models import Registration
    from exchange.trading.models import Bid
    load = selectinload(Bid.registration)
    if with_names:
        load = load.selectinload(Registration.buyer)
    return list(db.session.scalars(select(Bid).where(Bid.session_id == session.id).options(load)
                                   .order_by(Bid.seq.desc()).limit(n)))


def next_min(session: BiddingSession, reg) -> str | None:
    if session.method != "online_bidding":
        return None
    if session.current_price is None:
        return str(session.start_price)
    if reg.priority_right and not session.leader_priority and session.leader_registration_id != reg.id:
        return str(session.current_price)  # may match (同等条件优先)
    return str(session.current_price + session.increment)
