"""The reminders the deadline sweeper sends from stored due timestamps (``notify.*`` handlers), each once per person
(``Notification.dedupe_key``), from 08:00 Beijing on the last working day before a deadline's last day
(:func:`remind_from`).  See :mod:`exchange.notifications.services`."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterable

from sqlalchemy import select

from exchange import clock
from exchange.db import lock_row
from exchange.extensions import db
from exchange.contracts.states import ContractState
from exchange.money import format_yuan
from exchange.notifications.models import Notification

from exchange.notifications.recipients import center_reviewers, listing_people
from exchange.notifications.services import notify
from exchange.notifications.texts import path_for, when
from exchange.payments.center_account import pay_to_text

REMIND_HOUR = 8  # reminders go out from 08:00 Beijing time
REMIND_HORIZON = timedelta(days=20)  # a reminder is never earlier than this before its deadline
BIDDING_LEAD = timedelta(minutes=30)


# --- reminders (sweeper) ------------------------------------------------------------------------

def remind_from(deadline: datetime) -> datetime:
    """When the "1 工作日 before" reminder of ``deadline`` is due: ``REMIND_HOUR`` Beijing time on the last
    working day before the deadline's last day (see the module docstring)."""
    from exchange.workdays.services import days_info
    last_day = clock.to_local(deadline - timedelta(microseconds=1)).date()
    for info in reversed(days_info(last_day - timedelta(days=40), last_day - timedelta(days=1))):
        if info.is_workday:
            return clock.local_datetime(info.day, REMIND_HOUR)
    return clock.local_datetime(last_day - timedelta(days=1), REMIND_HOUR)  # no working day in 40 days


def is_remind_time(deadline: datetime | None, now: datetime, cache: dict | None = None) -> bool:
    if deadline is None or deadline <= now:
        return False
    day: date = clock.to_local(deadline - timedelta(microseconds=1)).date()
    if cache is not None and day in cache:
        start = cache[day]  # the reminder time depends on the last day only
    else:
        start = remind_from(deadline)
        if cache is not None:
            cache[day] = start
    return now >= start


def _unsent(pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Of (user id, dedupe key) pairs, those not yet notified (one query, on the unique index)."""
    if not pairs:
        return set()
    users = {u for u, _ in pairs}
    keys = {k for _, k in pairs}
    sent = {(r.user_id, r.dedupe_key) for r in db.session.execute(select(Notification.user_id, Notification.dedupe_key)
                                                                  .where(Notification.user_id.in_(users),
                                                                         Notification.dedupe_key.in_(keys)))}
    return {p for p in pairs if p not in sent}


def _remind(item_ids_with: list[tuple[int, datetime, list[int]]], prefix: str, now: datetime) -> list[int]:
    cache: dict = {}
    due = [(i, uids) for i, deadline, uids in item_ids_with if is_remind_time(deadline, now, cache)]
    pairs = [(u, f"{prefix}{i}") for i, uids in due for u in uids]
    unsent = _unsent(pairs)
    return [i for i, uids in due if any((u, f"{prefix}{i}") in unsent for u in uids)]


def _send_all(uids: Iterable[int], kind: str, title: str, body: str, link: str, listing_id: int, key: str) -> bool:
    sent = False
    for uid in dict.fromkeys(u for u in uids if u):
        sent |= notify(uid, kind, title, body, link=link, listing_id=listing_id, dedupe_key=key) is not None
    return sent


# 保证金 (第十九条(一)): the buyer of a qualified, unpaid registration

DEPOSIT_KEY = "deposit.due:reg:"


def deposit_due_ids(now: datetime) -> list[int]:
    from exchange.listings.models import Listing
    from exchange.registrations.models import Registration
    rows = db.session.execute(
        select(Registration.id, Registration.deposit_deadline_at, Registration.buyer_id)
        .join(Listing, Listing.id == Registration.listing_id)
        .where(Registration.state == "qualified", Registration.deposit_deadline_at > now,
               Registration.deposit_deadline_at <= now + REMIND_HORIZON, Listing.state == "announced")
        .order_by(Registration.deposit_deadline_at, Registration.id)).all()
    return _remind([(r.id, r.deposit_deadline_at, [r.buyer_id]) for r in rows], DEPOSIT_KEY, now)


def remind_deposit(reg_id: int, now: datetime) -> bool:
    from exchange.registrations.models import Registration
    reg = lock_row(db.session, Registration, reg_id)
    if (reg is None or reg.state != "qualified" or reg.listing.state != "announced"
            or not is_remind_time(reg.deposit_deadline_at, now)):
        return False
    listing = reg.listing
    return _send_all([reg.buyer_id], "deposit.due", f"请按时交纳保证金：{listing.title}",
                     f"您报名的项目 {listing.project_no}「{listing.title}」的保证金 {format_yuan(reg.deposit_amount)} 元"
                     f"须于 {when(reg.deposit_deadline_at)} 前到账（缴款码 {reg.payment_ref}），逾期视为放弃受让意向"
                     "（第十九条）。" + pay_to_text(reg.payment_ref, listing.org) + "如已付款请忽略本通知。",
                     path_for("registrations.detail", reg_id=reg.id), listing.id, f"{DEPOSIT_KEY}{reg.id}")


# 竞价 starts: every paid bidder, 30 minutes before

BIDDING_KEY = "bidding.starts:session:"


def _paid_buyers(listing_id: int) -> list[tuple[int, str]]:
    from exchange.registrations.models import Registration
    return [(r.buyer_id, r.bidder_no) for r in db.session.execute(select(Registration.buyer_id, Registration.bidder_no)
            .where(Registration.listing_id == listing_id, Registration.state == "paid").order_by(Registration.id))]


def bidding_starts_ids(now: datetime) -> list[int]:
    from exchange.listings.models import Listing
    from exchange.trading.models import BiddingSession
    rows = db.session.execute(
        select(BiddingSession.id, BiddingSession.listing_id).join(Listing, Listing.id == BiddingSession.listing_id)
        .where(BiddingSession.state == "scheduled", BiddingSession.starts_at > now,
               BiddingSession.starts_at <= now + BIDDING_LEAD, Listing.state == "trading")
        .order_by(BiddingSession.starts_at, BiddingSession.id)).all()
    items = [(r.id, [u for u, _ in _paid_buyers(r.listing_id)]) for r in rows]
    unsent = _unsent([(u, f"{BIDDING_KEY}{i}") for i, uids in items for u in uids])
    return [i for i, uids in items if any((u, f"{BIDDING_KEY}{i}") in unsent for u in uids)]


def remind_bidding(session_id: int, now: datetime) -> bool:
    from exchange.trading.models import BiddingSession
    s = lock_row(db.session, BiddingSession, session_id)
    if (s is None or s.state != "scheduled" or not (now < s.starts_at <= now + BIDDING_LEAD)
            or s.listing.state != "trading"):
        return False
    listing = s.listing
    link = path_for("trading.session_room", session_id=s.id)
    sent = False
    for uid, bidder_no in _paid_buyers(listing.id):
        if s.method == "sealed_bid":
            title = f"一次性报价即将开始：{listing.title}"
            body = (f"项目 {listing.project_no}「{listing.title}」的一次性报价将于 {when(s.starts_at)} 开始接受报价，"
                    f"{when(s.free_end_at)} 截止，{when(s.hard_end_at)} 开标。您的竞买号为 {bidder_no}。")
        else:
            title = f"网络竞价即将开始：{listing.title}"
            body = (f"项目 {listing.project_no}「{listing.title}」的网络竞价将于 {when(s.starts_at)} 开始，"
                    f"起始价 {format_yuan(s.start_price)} 元。您的竞买号为 {bidder_no}，请提前登录平台进入竞价室。")
        sent |= notify(uid, "bidding.starts", title, body, link=link, listing_id=listing.id,
                       dedupe_key=f"{BIDDING_KEY}{s.id}") is not None
    return sent


# 签约 (第十六条): buyer, the transferor's account and the clerk who handles the listing

CONTRACT_KEY = "contract.due:contract:"


def _contract_people(contract) -> list[int]:
    return [contract.deal.buyer_id] + listing_people({"listing": contract.listing})


def contract_due_ids(now: datetime) -> list[int]:
    from exchange.contracts.models import Contract
    from exchange.listings.models import Listing
    rows = db.session.scalars(
        select(Contract).join(Listing, Listing.id == Contract.listing_id)
        .where(Contract.state.in_(ContractState.UNSIGNED), Contract.due_at > now,
               Contract.due_at <= now + REMIND_HORIZON, Listing.state == "contract")
        .order_by(Contract.due_at, Contract.id)).all()
    return _remind([(c.id, c.due_at, _contract_people(c)) for c in rows], CONTRACT_KEY, now)


def remind_contract(contract_id: int, now: datetime) -> bool:
    from exchange.contracts.models import Contract
    c = lock_row(db.session, Contract, contract_id)
    if (c is None or not c.is_unsigned or c.listing.state != "contract"
            or not is_remind_time(c.due_at, now)):
        return False
    listing = c.listing
    todo = "签署合同（在线确认并在纸质合同上签字盖章）"
    return _send_all(_contract_people(c), "contract.due", f"合同签订期限将至：{listing.title}",
                     f"项目 {listing.project_no}「{listing.title}」的合同须于 {when(c.due_at)} 前签订（第十六条），"
                     f"请尽快{todo}，逾期按违约处理。", path_for("contracts.detail", contract_id=c.id), listing.id,
                     f"{CONTRACT_KEY}{c.id}")


# 结算 (第十七条): the buyer, while the balance is unpaid

SETTLEMENT_KEY = "settlement.due:settlement:"


def settlement_due_ids(now: datetime) -> list[int]:
    from exchange.listings.models import Listing
    from exchange.settlement.models import Settlement
    from exchange.trading.models import Deal
    rows = db.session.execute(
        select(Settlement.id, Settlement.due_at, Deal.buyer_id).join(Deal, Deal.id == Settlement.deal_id)
        .join(Listing, Listing.id == Settlement.listing_id)
        .where(Settlement.state == "awaiting", Settlement.due_at > now, Settlement.due_at <= now + REMIND_HORIZON,
               Listing.state == "settlement")
        .order_by(Settlement.due_at, Settlement.id)).all()
    return _remind([(r.id, r.due_at, [r.buyer_id]) for r in rows], SETTLEMENT_KEY, now)


def remind_settlement(settlement_id: int, now: datetime) -> bool:
    from exchange.settlement.models import Settlement
    s = lock_row(db.session, Settlement, settlement_id)
    if (s is None or s.state != "awaiting" or s.listing.state != "settlement"
            or not is_remind_time(s.due_at, now)):
        return False
    listing = s.listing
    return _send_all([s.deal.buyer_id], "settlement.due", f"价款交付期限将至：{listing.title}",
                     f"项目 {listing.project_no}「{listing.title}」应付 {format_yuan(s.amount_to_pay)} 元（缴款码 "
                     f"{s.payment_ref}），须于 {when(s.due_at)} 前到账（第十七条），逾期按违约处理。"
                     + pay_to_text(s.payment_ref, listing.org) + "如已付款请忽略本通知。",
                     path_for("settlement.detail", settlement_id=s.id), listing.id, f"{SETTLEMENT_KEY}{s.id}")


# 鉴证 (第十八条): the center's reviewers, while no valid 鉴证书 exists

CERTIFICATE_KEY = "certificate.due:settlement:"


def certificate_due_ids(now: datetime) -> list[int]:
    from exchange.certificates.models import Certificate
    from exchange.listings.models import Listing
    from exchange.settlement.models import Settlement
    valid = select(Certificate.id).where(Certificate.deal_id == Settlement.deal_id,
                                         Certificate.state == "valid").exists()
    rows = db.session.execute(
        select(Settlement.id, Settlement.certificate_due_at).join(Listing, Listing.id == Settlement.listing_id)
        .where(Settlement.state == "settled", Settlement.certificate_due_at > now,
               Settlement.certificate_due_at <= now + REMIND_HORIZON, Listing.state == "certification", ~valid)
        .order_by(Settlement.certificate_due_at, Settlement.id)).all()
    if not rows:
        return []
    reviewers = center_reviewers()
    return _remind([(r.id, r.certificate_due_at, reviewers) for r in rows], CERTIFICATE_KEY, now)


def remind_certificate(settlement_id: int, now: datetime) -> bool:
    from exchange.certificates.models import Certificate
    from exchange.settlement.models import Settlement
    s = lock_row(db.session, Settlement, settlement_id)
    if (s is None or s.state != "settled" or s.listing.state != "certification"
            or not is_remind_time(s.certificate_due_at, now)):
        return False
    if db.session.scalar(select(Certificate.id).where(Certificate.deal_id == s.deal_id, Certificate.state == "valid")):
        return False
    listing = s.listing
    return _send_all(center_reviewers(), "certificate.due", f"鉴证书出具期限将至：{listing.title}",
                     f"项目 {listing.project_no}「{listing.title}」已完成资金结算，鉴证书须于 {when(s.certificate_due_at)} "
                     "前出具（第十八条），请及时办理。", path_for("certificates.deal_page", deal_id=s.deal_id), listing.id,
                     f"{CERTIFICATE_KEY}{s.id}")
