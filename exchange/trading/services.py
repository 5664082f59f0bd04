"""组织交易 (第十五条, 第十条; DESIGN §3.6): from the end of the announcement to a deal in 交易公示.

* When the 公告期 and the deposit deadline are over, the sweeper moves an announced listing on by the
  number of qualified, paid buyers: none → 流拍; one or more → 组织交易 (one: 协议转让 for the trading
  officer to confirm; two or more: the competitive method the officer schedules).
* 网络竞价: bids are current + k × 加价幅度 (1 ≤ k ≤ max_steps; the first bid start price + k × 加价幅度,
  k ≥ 0); 自由报价期 then 限时报价期, whose countdown each accepted bid restarts, up to a cap.  A holder of
  the priority right (优先权, 同等条件优先) may match the highest price and so lead at it; others must raise.
  Accepting a bid is one transaction that first locks the session row (an UPDATE: a row lock on
  PostgreSQL, the write lock on SQLite), then re-reads the price and the clock.
* 一次性报价: one sealed price per bidder before the close, hidden until the opening time; the highest
  wins, ties to the earliest.
* 拍卖 / 招投标: run offline; the officer records the result with its document.
* A deal starts 交易公示 (default 3 工作日); objections are filed and decided; when it ends with nothing
  pending, the listing goes on to 签约 (due within 5 工作日, 第十六条).  Losing bidders' deposits are put up
  for refund (5 工作日, 第十九条(二)); the winner's stays, to become part of the price.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

from blinker import Namespace
from flask import current_app
from sqlalchemy import func, select, update

from exchange import clock
from exchange.access import AccessDenied, require
from exchange.accounts.models import Role
from exchange.audit.services import SYSTEM, acting_as, record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.ledger import refunds
from exchange.listings.models import Listing
from exchange.listings.workflow import fire
from exchange.money import format_yuan, to_money
from exchange.registrations.models import Registration
from exchange.trading.models import METHOD_LABELS, Bid, BiddingSession, Deal, Objection
from exchange.trading.states import BIDDING_SESSION, DEAL, OBJECTION
from exchange.workdays.services import due_after_working_days

COMPETITIVE = ("online_bidding", "sealed_bid", "auction", "tender")


# The deal's 交易公示 ended with no objection pending (sent inside the transaction).  The next stage connects to it
# (exchange.contracts drafts the contract); trading does not know the stages after it (DESIGN §4.1).
publicity_ended = Namespace().signal("publicity-ended")
# An objection to a deal in 交易公示 was upheld: the listing is suspended (exchange.incidents.suspension connects).
objection_upheld = Namespace().signal("objection-upheld")


class TradingError(ServiceError):
    """A trading step that cannot be taken now."""


class BidRefused(TradingError):
    """A bid that is not accepted; nothing was stored."""


def paid_registrations(listing) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(Registration.listing_id == listing.id,
                                                              Registration.state == "paid")
                                   .order_by(Registration.id)))


def active_session(listing) -> BiddingSession | None:
    return db.session.scalar(select(BiddingSession).where(BiddingSession.listing_id == listing.id,
                                                          BiddingSession.state != "cancelled")
                             .order_by(BiddingSession.id.desc()))


def deal_for(listing) -> Deal | None:
    """The listing's current deal: the latest one (after a default, the runner-up's; a defaulted or voided one
    stays on record beside it)."""
    return db.session.scalar(select(Deal).where(Deal.listing_id == listing.id).order_by(Deal.id.desc()).limit(1))


# --- after the announcement ----------------------------------------------------------------------

def announcements_due_ids(now: datetime) -> list[int]:
    """Announced listings whose 公告期 and deposit deadline are over (a plain read)."""
    return list(db.session.scalars(select(Listing.id).where(Listing.state == "announced",
                                                            Listing.trading_method != "procurement",  # 开标 instead
                                                            Listing.announce_end_at <= now,
                                                            Listing.deposit_deadline_at <= now)
                                   .order_by(Listing.announce_end_at, Listing.id)))


def close_announcement(listing_id: int, now: datetime) -> bool:
    """One announced listing moves on by its paid buyers: none → 流拍, else 组织交易; False when not due."""
    from exchange.db import lock_row
    listing = lock_row(db.session, Listing, listing_id)
    if (listing is None or listing.state != "announced" or listing.is_procurement or listing.announce_end_at is None
            or listing.announce_end_at > now or listing.deposit_deadline_at is None
            or listing.deposit_deadline_at > now):
        return False
    paid = paid_registrations(listing)
    if not paid:
        fire(listing, "fail", None, reason="公告期满，无合格且已交纳保证金的意向受让方")
    else:
        fire(listing, "start_trading", None,
             data={"paid_buyers": len(paid), "way": "agreement" if len(paid) == 1 else "competitive"})
    return True


def close_announcements(now: datetime) -> int:
    """Every announcement due (in one transaction; the sweeper goes item by item)."""
    return sum(close_announcement(lid, now) for lid in announcements_due_ids(now))


def way_of_trading(listing) -> str:
    """agreement when exactly one paid buyer, else the competitive method (DESIGN §3.6)."""
    return "agreement" if len(paid_registrations(listing)) == 1 else "competitive"


def conclude(listing: Listing, reg: Registration, price: Decimal, method: str, actor, *,
             refund_losers: bool = True, **extra) -> Deal:
    """A deal concluded by another stage's way of trading — a procurement's evaluation (its 中标候选人 1, whose bonds
    all stay held until the contract: ``refund_losers=False``) — under 交易公示 like every deal."""
    return _conclude(listing, reg, price, method, actor, refund_losers=refund_losers, **extra)


def _conclude(listing: Listing, reg: Registration, price: Decimal, method: str, actor, *,
              bidding: BiddingSession | None = None, refund_losers: bool = True, **extra) -> Deal:
    if listing.floor_price is not None and price < listing.floor_price:
        raise TradingError(f"成交价 {format_yuan(price)} 元低于底价 {format_yuan(listing.floor_price)} 元。")
    now = clock.now()
    from exchange.tradingrules import services as trading_rules
    publicity_days = trading_rules.value("publicity_working_days")  # 中心规则: 交易公示 3 工作日
    deal = Deal(deal_no="CJ-" + (listing.project_no or str(listing.id)).replace("LXNCJY-", ""), listing_id=listing.id,
                registration_id=reg.id, buyer_id=reg.buyer_id, method=method, price=price,
                session_id=getattr(bidding, "id", None), concluded_at=now, confirmed_by_id=getattr(actor, "id", None),
                publicity_end_at=due_after_working_days(now, publicity_days).at, **extra)
    db.session.add(deal)
    db.session.flush()
    fire(listing, "conclude", actor, data={"deal": deal.deal_no, "method": method, "price": str(price),
                                           "bidder_no": reg.bidder_no})
    if refund_losers:
        refunds.open_for_listing(listing, "lost", keep_registration_ids=[reg.id])
    record("deal.concluded", f"成交：{listing.project_no}，{METHOD_LABELS[method]}，{format_yuan(price)} 元，"
           f"竞买号 {reg.bidder_no}", obj_type="deal", obj_id=deal.id)
    return deal


def _fail(listing: Listing, reason: str, actor=None) -> None:
    fire(listing, "fail", actor, reason=reason)
    refunds.open_for_listing(listing, "lost")


def _require_trading(actor, listing: Listing) -> None:
    require(actor, "trading.manage")
    if listing.state != "trading":
        raise TradingError("项目不在组织交易阶段。")


def confirm_agreement(officer, listing: Listing) -> Deal:
    """协议转让: exactly one qualified, paid buyer; the deal is at its offer (never below 底价)."""
    _require_trading(officer, listing)
    paid = paid_registrations(listing)
    if len(paid) != 1:
        raise TradingError(f"协议转让须恰有一个已交保证金的受让方，现有 {len(paid)} 个。")
    reg = paid[0]
    return _conclude(listing, reg, reg.offer or listing.floor_price, "agreement", officer)


def record_offline(officer, listing: Listing, *, method: str, registration_id: int, price, held_on: str,
                   note: str = "", document=None, document_filename: str | None = None) -> Deal:
    """拍卖 / 招投标 held offline under their own laws (第十条): the officer records the result."""
    _require_trading(officer, listing)
    if method not in ("auction", "tender"):
        raise TradingError("线下交易方式只能是拍卖或招投标。", field="method")
    reg = db.session.get(Registration, registration_id)
    if reg is None or reg.listing_id != listing.id or reg.state != "paid":
        raise TradingError("竞得人须是本项目已交保证金的受让方。", field="registration_id")
    try:
        amount = to_money(price, strict=True)
    except (ValueError, TypeError) as exc:
        raise TradingError(f"成交价：{exc}", field="price") from None
    try:
        day = datetime.strptime((held_on or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        raise TradingError("请填写举行日期，如 2026-12-10。", field="held_on") from None
    if day > clock.today_local():
        raise TradingError("举行日期不能晚于今天。", field="held_on")
    if document is None:
        raise TradingError("请上传拍卖成交确认书或中标通知书等结果文件。", field="document")
    from exchange.uploads import UploadError, accept_upload
    try:
        stored = accept_upload(document, document_filename)
    except UploadError as exc:
        raise TradingError(f"结果文件：{exc}", field="document") from None
    return _conclude(listing, reg, amount, method, officer, offline_date=day.isoformat(), offline_note=(note or "")[:2000],
                     document_key=stored.key, document_filename=stored.filename,
                     document_content_type=stored.content_type)


# --- scheduling ----------------------------------------------------------------------------------

def _aware(dt: datetime) -> datetime:
    return clock.ensure_aware(dt) if dt.tzinfo else dt.replace(tzinfo=clock.LOCAL_TZ).astimezone(clock.UTC)


def schedule_online(officer, listing: Listing, *, starts_at: datetime, free_minutes: int = 30,
                    countdown_seconds: int = 300, max_extension_minutes: int = 120, increment=None,
                    max_steps: int = 10) -> BiddingSession:
    _require_trading(officer, listing)
    if len(paid_registrations(listing)) < 2:
        raise TradingError("网络竞价须有两个以上已交保证金的竞买人；只有一个的，按协议转让确认。")
    if active_session(listing) is not None:
        raise TradingError("该项目已安排竞价。")
    starts_at = _aware(starts_at)
    if starts_at < clock.now():
        raise TradingError("开始时间不能早于现在。", field="starts_at")
    try:
        inc = to_money(increment if increment not in (None, "") else listing.bid_increment, strict=True)
    except (ValueError, TypeError):
        raise TradingError("请填写加价幅度。", field="increment") from None
    if inc <= 0:
        raise TradingError("加价幅度必须大于零。", field="increment")
    if not (1 <= int(free_minutes) <= 24 * 60):
        raise TradingError("自由报价期应为 1 至 1440 分钟。", field="free_minutes")
    if not (10 <= int(countdown_seconds) <= 3600):
        raise TradingError("限时报价倒计时应为 10 至 3600 秒。", field="countdown_seconds")
    if not (0 <= int(max_extension_minutes) <= 24 * 60):
        raise TradingError("延时上限应为 0 至 1440 分钟。", field="max_extension_minutes")
    if not (1 <= int(max_steps) <= 1000):
        raise TradingError("单次最多加价档数应为 1 至 1000。", field="max_steps")
    free_end = starts_at + timedelta(minutes=int(free_minutes))
    ends_at = free_end + timedelta(seconds=int(countdown_seconds))
    bidding = BiddingSession(listing_id=listing.id, method="online_bidding",
                             start_price=listing.floor_price, increment=inc, max_steps=int(max_steps),
                             starts_at=starts_at, free_end_at=free_end, countdown_seconds=int(countdown_seconds),
                             ends_at=ends_at, hard_end_at=ends_at + timedelta(minutes=int(max_extension_minutes)),
                             scheduled_by_id=officer.id)
    db.session.add(bidding)
    db.session.flush()
    record("trading.schedule", f"安排网络竞价：{listing.project_no}，{clock.to_local(starts_at):%Y-%m-%d %H:%M} 开始",
           obj_type="bidding_session", obj_id=bidding.id,
           after={"starts_at": starts_at, "free_end_at": free_end, "countdown": countdown_seconds, "increment": inc})
    return bidding


def schedule_sealed(officer, listing: Listing, *, starts_at: datetime, closes_at: datetime,
                    opens_at: datetime) -> BiddingSession:
    _require_trading(officer, listing)
    if len(paid_registrations(listing)) < 2:
        raise TradingError("一次性报价须有两个以上已交保证金的竞买人；只有一个的，按协议转让确认。")
    if active_session(listing) is not None:
        raise TradingError("该项目已安排竞价。")
    starts_at, closes_at, opens_at = _aware(starts_at), _aware(closes_at), _aware(opens_at)
    if not (clock.now() <= starts_at < closes_at <= opens_at):
        raise TradingError("时间须依次为：现在 ≤ 开始接受报价 < 截止报价 ≤ 开标。", field="starts_at")
    bidding = BiddingSession(listing_id=listing.id, method="sealed_bid",
                             start_price=listing.floor_price, increment=None, max_steps=1, starts_at=starts_at,
                             free_end_at=closes_at, countdown_seconds=300, ends_at=opens_at, hard_end_at=opens_at,
                             scheduled_by_id=officer.id)
    db.session.add(bidding)
    db.session.flush()
    record("trading.schedule", f"安排一次性报价：{listing.project_no}，开标 {clock.to_local(opens_at):%Y-%m-%d %H:%M}",
           obj_type="bidding_session", obj_id=bidding.id)
    return bidding


# --- bidding -------------------------------------------------------------------------------------

def _lock(session_id: int) -> BiddingSession:
    """Take the session row (row lock on PostgreSQL, the write lock on SQLite) and read it afresh."""
    db.session.execute(update(BiddingSession).where(BiddingSession.id == session_id)
                       .values(seq=BiddingSession.seq).execution_options(synchronize_session=False))
    bidding = db.session.get(BiddingSession, session_id, populate_existing=True)
    if bidding is None:
        raise TradingError("竞价不存在。")
    return bidding


def bidder_registration(user, bidding: BiddingSession) -> Registration | None:
    return listing_bidder_registration(user, bidding.listing_id)


def listing_bidder_registration(user, listing_id: int) -> Registration | None:
    """``user``'s registration on the listing if they are a bidder there (a buyer whose deposit arrived)."""
    if user is None or getattr(user, "role", None) != Role.PUBLIC:
        return None
    return db.session.scalar(select(Registration).where(Registration.listing_id == listing_id,
                                                        Registration.buyer_id == user.id,
                                                        Registration.state == "paid"))


def _steps(diff: Decimal, inc: Decimal) -> int | None:
    q = diff / inc
    return int(q) if q == q.to_integral_value() else None


def authorise_bid(user, bidding: BiddingSession) -> None:
    """Only a bidder of the session's listing (a buyer whose deposit arrived) bids."""
    if getattr(user, "role", None) != Role.PUBLIC:
        raise AccessDenied("只有竞买人可以报价。")
    if bidder_registration(user, bidding) is None:
        raise AccessDenied("您不是本项目已交纳保证金的竞买人，不能报价。")


def _check_online_bid(bidding: BiddingSession, reg: Registration, price: Decimal) -> bool:
    """The rules of an online bid, in the order a bidder thinks of them; the first that fails is the one said:
    already leading → below the start price / the highest price → more than ``max_steps`` 加价幅度 at once → not a
    whole number of 加价幅度 (the amount's range before its granularity).  True when the bid is a priority holder's
    match of the highest price (同等条件优先)."""
    inc, current = bidding.increment, bidding.current_price
    if current is None:  # the first bid: the start price + k × 加价幅度, 0 ≤ k ≤ max_steps
        base = bidding.start_price
        if price < base:
            raise BidRefused(f"报价低于起始价 {format_yuan(base)} 元，请至少报 {format_yuan(base)} 元。")
        if price > base + inc * bidding.max_steps:
            raise BidRefused(f"单次加价不能超过 {bidding.max_steps} 个加价幅度，首次报价最多为 "
                             f"{format_yuan(base + inc * bidding.max_steps)} 元，请核对金额。")
        if _steps(price - base, inc) is None:
            raise BidRefused(f"首次报价须为起始价 {format_yuan(base)} 元加加价幅度 {format_yuan(inc)} 元的整数倍，"
                             f"如 {format_yuan(base)} 元、{format_yuan(base + inc)} 元。")
        return False
    if bidding.leader_registration_id == reg.id:
        raise BidRefused("您当前已是最高报价人，无需再报价。")
    if price == current and reg.priority_right and not bidding.leader_priority:
        return True  # 同等条件优先: the priority holder takes the lead at the same price
    may_match = reg.priority_right and not bidding.leader_priority
    lowest = current if may_match else current + inc
    if price < current:
        raise BidRefused(f"报价低于当前最高价 {format_yuan(current)} 元，请至少报 {format_yuan(lowest)} 元。")
    if price == current:
        raise BidRefused(f"报价须高于当前最高价 {format_yuan(current)} 元，请至少报 {format_yuan(lowest)} 元。")
    if price > current + inc * bidding.max_steps:
        raise BidRefused(f"单次加价不能超过 {bidding.max_steps} 个加价幅度（{format_yuan(inc * bidding.max_steps)} 元），"
                         f"本次最多报 {format_yuan(current + inc * bidding.max_steps)} 元，请核对金额。")
    if _steps(price - current, inc) is None:
        raise BidRefused(f"报价须为当前最高价 {format_yuan(current)} 元加加价幅度 {format_yuan(inc)} 元的整数倍，"
                         f"如 {format_yuan(lowest)} 元、{format_yuan(lowest + inc)} 元。")
    return False


def place_bid(user, session_id: int, amount, *, key: str, ip: str = "") -> Bid:
    """One bid; the accepted Bid, or BidRefused with the reason.  The same key again returns the first."""
    found = db.session.get(BiddingSession, session_id)
    if found is None:
        raise TradingError("竞价不存在。")
    authorise_bid(user, found)  # who bids first: anyone else learns nothing of the rules of a bid
    key = (key or "").strip()
    if not (8 <= len(key) <= 64):
        raise BidRefused("请求缺少有效的防重复标识，请刷新页面后再报价。")
    try:
        price = to_money(amount, strict=True)
    except (ValueError, TypeError) as exc:
        raise BidRefused(f"报价金额：{exc}") from None
    if price <= 0:
        raise BidRefused("报价必须大于零。")
    bidding = _lock(session_id)
    reg = bidder_registration(user, bidding)
    if reg is None:
        raise AccessDenied("您不是本项目已交纳保证金的竞买人，不能报价。")
    earlier = db.session.scalar(select(Bid).where(Bid.session_id == bidding.id, Bid.registration_id == reg.id,
                                                  Bid.idempotency_key == key))
    if earlier is not None:
        return earlier  # a resubmitted request: accepted once
    now = clock.now()
    if bidding.state != "scheduled":
        raise BidRefused("竞价已结束。")
    if bidding.listing.state == "suspended":
        raise BidRefused("交易已中止，暂停报价；重启后按剩余时间继续。")
    if now < bidding.starts_at:
        raise BidRefused(f"竞价尚未开始，开始时间 {clock.to_local(bidding.starts_at):%Y-%m-%d %H:%M}。")
    if bidding.method == "sealed_bid":
        return _sealed_offer(bidding, reg, price, key, ip, now)
    if now >= bidding.ends_at:
        raise BidRefused("竞价已结束，报价无效。")
    priority_match = _check_online_bid(bidding, reg, price)
    bidding.seq += 1
    bid = Bid(session_id=bidding.id, registration_id=reg.id, seq=bidding.seq, amount=price,
              priority_match=priority_match, idempotency_key=key, at=now, ip=(ip or "")[:45])
    db.session.add(bid)
    bidding.current_price, bidding.leader_registration_id = price, reg.id
    bidding.leader_priority = bool(reg.priority_right)
    if now >= bidding.free_end_at:  # 限时报价期: an accepted bid restarts the countdown, up to the cap
        bidding.ends_at = max(bidding.ends_at, min(now + timedelta(seconds=bidding.countdown_seconds),
                                                   bidding.hard_end_at))
    db.session.flush()
    return bid


def _sealed_offer(bidding: BiddingSession, reg: Registration, price: Decimal, key: str, ip: str, now) -> Bid:
    if now >= bidding.free_end_at:
        raise BidRefused("报价已截止。")
    if db.session.scalar(select(Bid.id).where(Bid.session_id == bidding.id, Bid.registration_id == reg.id)):
        raise BidRefused("一次性报价每人只能报一次，您已提交。")
    if price < bidding.start_price:
        raise BidRefused(f"报价不能低于底价 {format_yuan(bidding.start_price)} 元。")
    bidding.seq += 1
    bid = Bid(session_id=bidding.id, registration_id=reg.id, seq=bidding.seq, amount=price, idempotency_key=key,
              at=now, ip=(ip or "")[:45])
    db.session.add(bid)
    db.session.flush()
    return bid


def bids_of(bidding: BiddingSession) -> list[Bid]:
    return list(db.session.scalars(select(Bid).where(Bid.session_id == bidding.id).order_by(Bid.seq)))


def counted_bids(bids: list[Bid]) -> list[Bid]:
    """The bids that still count: not those of a bidder the center disqualified (取消资格, 第二十五条)."""
    return [b for b in bids if not b.registration.is_disqualified]


def hold_session(listing) -> BiddingSession | None:
    """The listing's scheduled session, locked (a bid or the session's end waits for this transaction), or None."""
    found = active_session(listing)
    if found is None or found.state != "scheduled":
        return None
    return _lock(found.id)


def bidder_out(reg: Registration) -> None:
    """A bidder disqualified (取消资格, 第二十五条) before the listing's deal: in a scheduled online session the highest
    price and its holder are those of the bids that still count (the countdown is left as it is); with no paid buyer
    left and no session to wait for, the listing fails (流拍: 无合格且已交纳保证金的意向受让方).  The session is held
    (:func:`hold_session`) — best already by the caller, before it read the state it decided on."""
    listing = reg.listing
    bidding = hold_session(listing)
    if bidding is not None and bidding.method == "online_bidding":
        counted = counted_bids(bids_of(bidding))
        last = counted[-1] if counted else None
        bidding.current_price = last.amount if last else None
        bidding.leader_registration_id = last.registration_id if last else None
        bidding.leader_priority = bool(last and last.registration.priority_right)
        db.session.flush()
    if listing.state == "trading" and bidding is None and not paid_registrations(listing):
        _fail(listing, "取消资格后，无合格且已交纳保证金的意向受让方")
    db.session.flush()


def bids_digest(bids: list[Bid]) -> str:
    material = "\n".join(f"{b.seq}|{b.registration_id}|{b.amount}|{b.at.isoformat()}" for b in bids)
    return hashlib.sha256(material.encode()).hexdigest()


def close_session(session_id: int, now: datetime | None = None) -> BiddingSession:
    """End a session whose time is up (idempotent): the deal, or 流拍.  The clock ends it, not whoever asked (a
    bidder's room asks when its countdown reaches zero): it is written as the system's act, so every party —
    the bidder whose page asked included — is told the result."""
    bidding = _lock(session_id)
    now = now or clock.now()
    if bidding.state != "scheduled" or now < bidding.ends_at:
        return bidding
    with acting_as(SYSTEM):
        return _end_session(bidding)


def _end_session(bidding: BiddingSession) -> BiddingSession:
    listing = bidding.listing
    bids = bids_of(bidding)
    BIDDING_SESSION.fire(bidding, "end")
    bidding.ended_at = bidding.ends_at
    counted = counted_bids(bids)  # a disqualified bidder's bids no longer count (第二十五条)
    if bidding.method == "sealed_bid":
        winner = max(counted, key=lambda b: (b.amount, -b.seq)) if counted else None
    else:
        winner = counted[-1] if counted else None
    if winner is not None and winner.amount >= listing.floor_price:
        bidding.outcome = f"竞买号 {winner.registration.bidder_no} 以 {format_yuan(winner.amount)} 元竞得"
        _conclude(listing, winner.registration, winner.amount, bidding.method, None, bidding=bidding)
    else:
        bidding.outcome = "无有效报价，流拍"
        _fail(listing, "竞价无有效报价")
    db.session.flush()
    record("trading.session_end", f"竞价结束：{listing.project_no}，{bidding.outcome}，共 {len(bids)} 次报价",
           obj_type="bidding_session", obj_id=bidding.id,
           after={"bids": len(bids), "sha256": bids_digest(bids), "outcome": bidding.outcome})
    return bidding


def sessions_due_ids(now: datetime) -> list[int]:
    """Scheduled sessions whose end has passed (a plain read)."""
    return list(db.session.scalars(select(BiddingSession.id).join(Listing, Listing.id == BiddingSession.listing_id)
                                   .where(BiddingSession.state == "scheduled", BiddingSession.ends_at <= now,
                                          Listing.state != "suspended")  # 中止: its clock is frozen
                                   .order_by(BiddingSession.ends_at, BiddingSession.id)))


def close_due_session(session_id: int, now: datetime) -> bool:
    """End one session whose time is up; False when it is not (any more)."""
    bidding = _lock(session_id)
    if bidding.state != "scheduled" or bidding.ends_at > now or bidding.listing.state == "suspended":
        return False
    close_session(session_id, now)
    return True


def close_due_sessions(now: datetime) -> int:
    """Every session due (in one transaction; the sweeper goes item by item)."""
    return sum(close_due_session(sid, now) for sid in sessions_due_ids(now))


# --- publicity and objections --------------------------------------------------------------------

def publicity_due_ids(now: datetime) -> list[int]:
    """Deals whose 交易公示 is over with no objection pending (a plain read)."""
    pending = select(Objection.id).where(Objection.deal_id == Deal.id, Objection.state == "pending").exists()
    return list(db.session.scalars(select(Deal.id).where(Deal.state == "publicity", Deal.publicity_end_at <= now,
                                                         ~pending)
                                   .order_by(Deal.publicity_end_at, Deal.id)))


def end_publicity_of(deal_id: int, now: datetime) -> bool:
    """One deal's 交易公示 is over: with no objection pending the listing goes on to 签约 and the contract is
    drafted (第十六条); False when it is not due or an objection waits for the center."""
    from exchange.db import lock_row
    deal = lock_row(db.session, Deal, deal_id)
    if deal is None or deal.state != "publicity" or deal.publicity_end_at > now:
        return False
    pending = db.session.scalar(select(func.count(Objection.id)).where(Objection.deal_id == deal.id,
                                                                       Objection.state == "pending"))
    if pending:
        return False  # the center decides first
    DEAL.fire(deal, "confirm")
    start = trade_complete_at(deal)
    deal.contract_due_at = due_after_working_days(start, SIGNING_WORKING_DAYS).at
    fire(deal.listing, "publicity_end", None, data={"deal": deal.deal_no, "trade_complete_at": start.isoformat(),
                                                    "contract_due_at": deal.contract_due_at.isoformat()})
    publicity_ended.send(deal)  # contracts drafts the contract from its standard template, due in 5 工作日
    return True


SIGNING_WORKING_DAYS = 5  # 第十六条: 完成组织交易后 5 个工作日内签订合同


def trade_complete_at(deal: Deal) -> datetime:
    """When 组织交易 is complete (第十六条, DESIGN §3.11): its result is final — the end of 交易公示, or, when an
    objection was still pending then, the moment the last one was dismissed.  The 5 工作日 to sign start here (counted
    from the next day: the publicity's end is 24:00 of its last day, so its last instant stands for that day)."""
    decided = db.session.scalar(select(func.max(Objection.decided_at)).where(
        Objection.deal_id == deal.id, Objection.state == "dismissed"))
    if decided is not None:
        decided = clock.ensure_aware(decided)
    end = clock.ensure_aware(deal.publicity_end_at) - timedelta(microseconds=1)
    return max(end, decided) if decided is not None else end


def end_publicity(now: datetime) -> int:
    """Every publicity due (in one transaction; the sweeper goes item by item)."""
    return sum(end_publicity_of(did, now) for did in publicity_due_ids(now))


def file_objection(user, deal: Deal, *, name: str, contact: str, content: str, ip: str = "") -> Objection:
    """Anyone may object during 交易公示."""
    if deal.state != "publicity" or clock.now() >= deal.publicity_end_at:
        raise TradingError("该项目不在交易公示期内，不能提出异议。")
    name, contact, content = (name or "").strip(), (contact or "").strip(), (content or "").strip()
    if not name or len(name) > 60:
        raise TradingError("请填写异议人姓名或单位名称。", field="name")
    if not contact or len(contact) > 60:
        raise TradingError("请填写联系电话或地址，以便告知处理结果。", field="contact")
    if len(content) < 10 or len(content) > 2000:
        raise TradingError("请写明异议的事实和理由（10 至 2000 字）。", field="content")
    if ip:  # anyone may object, so one address may not flood the center: 5 an hour
        recent = db.session.scalar(select(func.count(Objection.id)).where(
            Objection.ip == ip[:45], Objection.filed_at >= clock.now() - timedelta(hours=1)))
        if recent >= 5:
            raise TradingError("提交过于频繁，请一小时后再试，或直接联系交易中心。")
    obj = Objection(deal_id=deal.id, name=name, contact=contact, content=content,
                    filed_by_id=getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None,
                    ip=(ip or "")[:45])
    db.session.add(obj)
    db.session.flush()
    record("objection.file", f"对 {deal.listing.project_no} 的成交提出异议：{name}", obj_type="objection", obj_id=obj.id)
    return obj


def decide_objection(reviewer, obj: Objection, *, upheld: bool, decision: str) -> Objection:
    require(reviewer, "objections.decide", obj.deal.listing.org)
    if obj.state != "pending":
        raise TradingError("该异议已处理。")
    decision = (decision or "").strip()
    if not decision:
        raise TradingError("请写明处理意见，异议人将看到它。", field="decision")
    OBJECTION.fire(obj, "uphold" if upheld else "dismiss", reviewer, reason=decision, authorised=True)
    obj.decision, obj.decided_by_id, obj.decided_at = decision[:2000], reviewer.id, clock.now()
    if upheld and obj.deal.state == "publicity":
        objection_upheld.send(obj, reviewer=reviewer, decision=decision)  # 中止 (exchange.incidents.suspension)
    db.session.flush()
    record("objection.decide", f"异议{'成立' if upheld else '不成立'}：{obj.deal.listing.project_no}", obj_type="objection",
           obj_id=obj.id)
    return obj


def work_counts(user) -> dict[str, int]:
    """Counts for the work page."""
    def count(stmt):
        return db.session.scalar(stmt) or 0
    if user.role == Role.PUBLIC:
        return {"my_sessions": count(select(func.count(BiddingSession.id)).join(
            Registration, Registration.listing_id == BiddingSession.listing_id).where(
            Registration.buyer_id == user.id, Registration.state == "paid", BiddingSession.state == "scheduled"))}
    return {"trading": count(select(func.count(Listing.id)).where(Listing.state == "trading")),
            "sessions": count(select(func.count(BiddingSession.id)).where(BiddingSession.state == "scheduled")),
            "publicity": count(select(func.count(Deal.id)).where(Deal.state == "publicity")),
            "objections": count(select(func.count(Objection.id)).where(Objection.state == "pending"))}


# --- relisting -----------------------------------------------------------------------------------

# everything a relisting keeps from the failed listing; numbers, states, dates and people start afresh
NOT_COPIED = {"id", "project_no", "state", "version", "created_by_id", "submitted_at", "state_since", "published_at",
              "announce_start_at", "announce_end_at", "deposit_deadline_at", "announce_assumed_years", "created_at",
              "updated_at", "relisted_from_id", "intake_no", "progress_key"}  # a new application: its own 受理编号


def relist(reviewer, listing: Listing, *, floor_price=None, reps_for=None, reps_total=None) -> Listing:
    """重新挂牌 after 流拍: a new listing (new 公告, new round) submitted to the center's review.  A
    collective asset's 底价 below its appraisal still needs the two-thirds resolution (第二十条)."""
    require(reviewer, "listings.relist", listing.org)
    if listing.state != "failed":
        raise TradingError("只有流拍的项目可以重新挂牌。")
    if db.session.scalar(select(Listing.id).where(Listing.relisted_from_id == listing.id,
                                                  Listing.state.not_in(("rejected",)))):
        raise TradingError("该项目已重新挂牌。")
    from exchange.listings.models import ListingMaterial
    copy = Listing(created_by_id=reviewer.id, relisted_from_id=listing.id,
                   **{c.key: getattr(listing, c.key) for c in Listing.__table__.columns if c.key not in NOT_COPIED})
    if floor_price not in (None, ""):
        try:
            copy.floor_price = to_money(floor_price, strict=True)
        except (ValueError, TypeError) as exc:
            raise TradingError(f"底价：{exc}", field="floor_price") from None
        copy.price_mode, copy.floor_unit_price = "total", None
        copy.deposit_amount = (copy.floor_price * Decimal(current_app.config.get("DEPOSIT_RATE", "0.10"))).quantize(
            Decimal("0.01"))
    if reps_for not in (None, ""):
        copy.reps_for, copy.reps_total = int(reps_for), int(reps_total or listing.reps_total or 0)
    db.session.add(copy)
    db.session.flush()
    for m in listing.materials:
        db.session.add(ListingMaterial(listing_id=copy.id, kind=m.kind, filename=m.filename, storage_key=m.storage_key,
                                       content_type=m.content_type, size=m.size, sha256=m.sha256, public=m.public,
                                       uploaded_by_id=m.uploaded_by_id))
    db.session.flush()
    db.session.refresh(copy)
    fire(copy, "relist_submit", reviewer, reason=f"{listing.project_no} 流拍后重新挂牌")
    record("listing.relist", f"{listing.project_no} 流拍后重新挂牌，底价 {format_yuan(copy.floor_price)} 元",
           obj_type="listing", obj_id=copy.id)
    return copy
