"""Notifications (站内通知 + e-mail + SMS): who is told what, when, and what was sent to them.

Three sources, one outbox:

* **Events** come from the audit trail.  :func:`exchange.audit.services.record` calls :func:`on_audit` with
  every entry it writes; ``RULES`` maps the audit actions worth telling someone about to their recipients,
  title/body templates and link (a plain dict lookup for every other action).  The notifications are
  written in the audited operation's own transaction, so an operation that is rolled back leaves none.
  Outbid is deliberately not an event (a bid writes no audit entry and the bidding room shows it live).
* **Reminders** come from stored due timestamps, by the deadline sweeper (``notify.*`` handlers in
  :mod:`exchange.deadlines.sweeper`), each sent once per person thanks to ``Notification.dedupe_key``:

  - ``notify.deposit_due`` — a qualified, unpaid registration whose deposit deadline is near;
  - ``notify.bidding_starts`` — a scheduled bidding session starting within 30 minutes, to each paid bidder;
  - ``notify.contract_due`` / ``notify.settlement_due`` — the contract still unsigned (buyer, transferor, the
    clerk who handles the listing) / the price balance still unpaid (buyer);
  - ``notify.certificate_due`` — the 鉴证书 not yet issued (the center's reviewers).

  **When** (one rule for every "1 工作日 before" reminder, :func:`remind_from`): the deadline's *last day*
  is the Beijing date of the last instant before the deadline (16:00 on the last announcement day for a
  deposit; the day before the stored midnight for 签约/结算/鉴证).  The reminder goes out from
  ``REMIND_HOUR`` (08:00 Beijing, the start of office hours, never in the night) on the last working day
  before that last day (:mod:`exchange.workdays`: weekends, holidays and 调休 count as they are), until the
  deadline.  A deadline on Monday is reminded on Friday 08:00; one on 10月8日 after the National Day
  holiday on 9月30日 08:00.  Listings that are 中止 (suspended) get no reminders: their clocks are frozen.
* **Delivery**: creating a notification adds a ``pending`` :class:`Delivery` per channel for which the person
  has an address (e-mail, mobile).  Nothing is sent in the request: the sweeper's ``notify.deliver`` handler
  sends pending deliveries after they were committed, one per item transaction, so a rolled-back operation
  never sends anything and a crash never loses a message (at worst a message whose send succeeded but whose
  commit failed is sent again).  Each try counts an attempt; after ``MAX_ATTEMPTS`` failures the delivery is
  ``failed`` with the error recorded.  Addresses are stored masked; the current address is read from the
  account when sending.

Everyone (staff of every role, the supervisor, public accounts) sees their own notifications and what was
sent to them on ``/notifications`` (and ``GET /api/v1/notifications``); nobody sees anyone else's.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from exchange import clock
from exchange.access import require
from exchange.accounts.models import Role, User
from exchange.db import lock_row, savepoint
from exchange.audit.services import recorded as audit_recorded
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.idcheck import mask_mobile
from exchange.money import format_yuan
from exchange.notifications.models import Delivery, Notification

log = logging.getLogger(__name__)

CHANNELS = ("email", "sms")
CHANNEL_LABELS = {"email": "电子邮件", "sms": "短信"}
DELIVERY_STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败", "skipped": "未发送"}
MAX_ATTEMPTS = 3
DELIVER_BATCH = 500  # deliveries per sweeper pass (the rest next minute)
REMIND_HOUR = 8  # reminders go out from 08:00 Beijing time
REMIND_HORIZON = timedelta(days=20)  # a reminder is never earlier than this before its deadline
BIDDING_LEAD = timedelta(minutes=30)


class NotificationError(ServiceError):
    """A notification that cannot be acted on as asked."""


# --- addresses ------------------------------------------------------------------------------------

def mask_email(value: str | None) -> str:
    """``"zhangsan@example.com"`` → ``"z***@example.com"``."""
    value = (value or "").strip()
    local, at, domain = value.partition("@")
    if not at:
        return (value[:1] + "***") if value else ""
    return f"{local[:1]}***@{domain}"


def address_of(user: User, channel: str) -> str | None:
    value = user.email if channel == "email" else user.mobile
    value = (value or "").strip()
    return value or None


def masked(channel: str, value: str) -> str:
    return (mask_email(value) if channel == "email" else mask_mobile(value))[:120]


# --- creating ------------------------------------------------------------------------------------

def notify(user: User | int | None, kind: str, title: str, body: str = "", *, link: str = "",
           listing_id: int | None = None, dedupe_key: str | None = None,
           channels: Iterable[str] = CHANNELS) -> Notification | None:
    """One notification to one account, with a pending delivery per channel the person has an address for.

    Flushes, never commits.  With ``dedupe_key`` (reminders) a second call for the same person and key does
    nothing and returns None — checked first, and the insert runs in a savepoint so a concurrent insert of
    the same key (the unique index) is skipped too.  Inactive accounts are not notified.
    """
    if isinstance(user, int):
        user = db.session.get(User, user)
    if user is None or not user.active:
        return None
    if dedupe_key is not None and already_sent(user.id, dedupe_key):
        return None
    n = Notification(user_id=user.id, kind=kind[:40], title=title[:200], body=body, link=link[:300],
                     listing_id=listing_id, dedupe_key=dedupe_key[:120] if dedupe_key else None,
                     created_at=clock.now())
    for channel in channels:
        address = address_of(user, channel)
        if address:
            n.deliveries.append(Delivery(channel=channel, address=masked(channel, address), status="pending",
                                         attempts=0, error=""))
    if dedupe_key is None:
        db.session.add(n)
        db.session.flush()
        return n
    try:
        with savepoint(db.session):
            db.session.add(n)
            db.session.flush()
    except IntegrityError:  # the same reminder inserted meanwhile by another process
        return None
    return n


def already_sent(user_id: int, dedupe_key: str) -> bool:
    return db.session.scalar(select(Notification.id).where(Notification.user_id == user_id,
                                                           Notification.dedupe_key == dedupe_key).limit(1)) is not None


# --- links ----------------------------------------------------------------------------------------

def path_for(endpoint: str, **values) -> str:
    """A path inside the platform, also outside a request (the sweeper)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _registration_of(listing_id: int, user_id: int):
    from exchange.registrations.models import Registration
    return db.session.scalar(select(Registration).where(Registration.listing_id == listing_id,
                                                        Registration.buyer_id == user_id))


def listing_link(ctx: dict, user_id: int) -> str:
    """A buyer's own registration page, else the listing's page (its staff and its transferor)."""
    listing = ctx["listing"]
    reg = _registration_of(listing.id, user_id)
    if reg is not None:
        return path_for("registrations.detail", reg_id=reg.id)
    return path_for("listings.detail", listing_id=listing.id)


def registration_link(ctx: dict, user_id: int) -> str:
    return path_for("registrations.detail", reg_id=ctx["reg"].id)


def contract_link(ctx: dict, user_id: int) -> str:
    return path_for("contracts.detail", contract_id=ctx["contract"].id)


def settlement_link(ctx: dict, user_id: int) -> str:
    s = ctx.get("settlement")
    if s is None:
        return listing_link(ctx, user_id)
    return path_for("settlement.detail", settlement_id=s.id)


def certificate_link(ctx: dict, user_id: int) -> str:
    return path_for("certificates_public.verify", number=ctx["cert"].cert_no)


# --- texts ----------------------------------------------------------------------------------------

def when(dt: datetime | None) -> str:
    """A deadline as a village clerk reads it; a stored midnight is shown as 24:00 of its last day."""
    from exchange.workdays.services import due_text
    return "—" if dt is None else due_text(dt)


class _Fields(dict):
    def __missing__(self, key):
        return ""


def _fmt(template: str, ctx: dict) -> str:
    return template.format_map(_Fields({k: v for k, v in ctx.items() if isinstance(v, (str, int))}))


# --- who ------------------------------------------------------------------------------------------

def _submitter_id(listing) -> int | None:
    from exchange.listings.models import ListingEvent
    actor = db.session.scalar(select(ListingEvent.actor_id).where(
        ListingEvent.listing_id == listing.id, ListingEvent.action.in_(("submit", "relist_submit")),
        ListingEvent.actor_id.is_not(None)).order_by(ListingEvent.id.desc()).limit(1))
    return actor or listing.created_by_id


def listing_people(ctx: dict) -> list[int]:
    """Those who brought the listing: the clerk (or staff) who submitted it and the transferor's own account."""
    listing = ctx["listing"]
    return [uid for uid in (_submitter_id(listing), listing.transferor_user_id) if uid]


def live_buyers(ctx: dict) -> list[int]:
    """Buyers whose registration is still in play (applied, qualified or paid)."""
    from exchange.registrations.models import Registration
    from exchange.registrations.states import RegState
    return list(db.session.scalars(select(Registration.buyer_id).where(
        Registration.listing_id == ctx["listing"].id, Registration.state.in_(RegState.LIVE))
        .order_by(Registration.id)))


def parties_and_buyers(ctx: dict) -> list[int]:
    return listing_people(ctx) + live_buyers(ctx)


def the_buyer(ctx: dict) -> list[int]:
    return [ctx["buyer_id"]]


def losers(ctx: dict) -> list[int]:
    """Paid bidders of the listing other than the winner."""
    from exchange.registrations.models import Registration
    deal = ctx["deal"]
    return list(db.session.scalars(select(Registration.buyer_id).where(
        Registration.listing_id == deal.listing_id, Registration.state == "paid",
        Registration.id != deal.registration_id).order_by(Registration.id)))


def transferor(ctx: dict) -> list[int]:
    uid = ctx["listing"].transferor_user_id
    return [uid] if uid else []


def buyer_and_parties(ctx: dict) -> list[int]:
    return [ctx["buyer_id"]] + listing_people(ctx)


def center_reviewers() -> list[int]:
    return list(db.session.scalars(select(User.id).where(User.role == Role.CENTER_REVIEWER.value,
                                                         User.active.is_(True)).order_by(User.id)))


# --- what: loading the audited object into a context ---------------------------------------------

def _listing_fields(listing) -> dict:
    return {"listing": listing, "listing_id": listing.id, "no": listing.project_no or f"#{listing.id}",
            "title": listing.title}


def load_listing(entry) -> dict | None:
    from exchange.listings.models import Listing, ListingEvent
    listing = db.session.get(Listing, int(entry.object_id))
    if listing is None:
        return None
    ctx = _listing_fields(listing)
    name = entry.action.partition(".")[2]
    event = db.session.scalar(select(ListingEvent).where(ListingEvent.listing_id == listing.id,
                                                         ListingEvent.action == name)
                              .order_by(ListingEvent.id.desc()).limit(1))
    ctx["reason"] = (event.note if event is not None else "") or "未填写"
    ctx["by"] = "交易站" if name.startswith("station_") else "交易中心"
    ctx["station"] = listing.station.name if listing.station else "交易站"
    ctx["announce_end"] = when(listing.announce_end_at)
    ctx["deposit_deadline"] = when(listing.deposit_deadline_at)
    return ctx


def load_registration(entry) -> dict | None:
    from exchange.registrations.models import Registration
    reg = db.session.get(Registration, int(entry.object_id))
    if reg is None:
        return None
    ctx = _listing_fields(reg.listing)
    ctx.update(reg=reg, buyer_id=reg.buyer_id, payment_ref=reg.payment_ref or "",
               deposit=format_yuan(reg.deposit_amount) if reg.deposit_amount is not None else "",
               deadline=when(reg.deposit_deadline_at), paid_at=when(reg.paid_at), bidder_no=reg.bidder_no or "",
               note=reg.review_note or "未填写")
    return ctx


def load_deal(entry) -> dict | None:
    from exchange.trading.models import Deal
    deal = db.session.get(Deal, int(entry.object_id))
    if deal is None:
        return None
    ctx = _listing_fields(deal.listing)
    ctx.update(deal=deal, buyer_id=deal.buyer_id, price=format_yuan(deal.price), method=deal.method_label,
               publicity_end=when(deal.publicity_end_at), contract_due=when(deal.contract_due_at))
    return ctx


def load_contract(entry) -> dict | None:
    from exchange.contracts.models import Contract
    contract = db.session.get(Contract, int(entry.object_id))
    if contract is None:
        return None
    ctx = _listing_fields(contract.listing)
    ctx.update(contract=contract, buyer_id=contract.deal.buyer_id, due=when(contract.due_at),
               contract_no=contract.contract_no or "")
    return ctx


def load_settlement(entry) -> dict | None:
    from exchange.settlement.models import Settlement
    s = db.session.get(Settlement, int(entry.object_id))
    if s is None:
        return None
    return _settlement_fields(s)


def _settlement_fields(s) -> dict:
    ctx = _listing_fields(s.listing)
    to_pay = s.amount_to_pay
    ctx.update(settlement=s, buyer_id=s.deal.buyer_id, due=when(s.due_at), cert_due=when(s.certificate_due_at),
               pay_text=(f"请于 {when(s.due_at)} 前交付 {format_yuan(to_pay)} 元（缴款码 {s.payment_ref}），"
                         "以到账时间为准（第十七条）。" if to_pay > 0 else "您交纳的保证金已足额抵作价款，无需另行付款。"))
    return ctx


def load_settled_listing(entry) -> dict | None:
    """``listing.settled``: the listing's settlement (for the 鉴证 deadline)."""
    ctx = load_listing(entry)
    if ctx is None:
        return None
    from exchange.settlement.models import Settlement
    s = db.session.scalar(select(Settlement).where(Settlement.listing_id == ctx["listing_id"],
                                                   Settlement.state == "settled").order_by(Settlement.id.desc()))
    if s is None:
        return None
    fields = _settlement_fields(s)
    fields["reason"] = ctx["reason"]
    return fields


def load_certificate(entry) -> dict | None:
    from exchange.certificates.models import Certificate
    cert = db.session.get(Certificate, int(entry.object_id))
    if cert is None:
        return None
    from exchange.trading.models import Deal
    deal = db.session.get(Deal, cert.deal_id)
    ctx = _listing_fields(deal.listing)
    ctx.update(cert=cert, cert_no=cert.cert_no, buyer_id=deal.buyer_id)
    return ctx


def load_refund(entry) -> dict | None:
    """A deposit refund to a buyer (returns of unmatched money have no account to tell)."""
    from exchange.ledger.models import Refund
    from exchange.registrations.models import Registration
    refund = db.session.get(Refund, int(entry.object_id))
    if refund is None or refund.registration_id is None:
        return None
    reg = db.session.get(Registration, refund.registration_id)
    ctx = _listing_fields(reg.listing)
    ctx.update(reg=reg, buyer_id=reg.buyer_id, amount=format_yuan(refund.amount), bank_ref=refund.bank_ref or "")
    return ctx


def load_default(entry) -> dict | None:
    """``listing.default``: the defaulting buyer is the listing's latest deal's."""
    ctx = load_listing(entry)
    if ctx is None:
        return None
    from exchange.trading.services import deal_for
    deal = deal_for(ctx["listing"])
    if deal is None:
        return None
    ctx["buyer_id"] = deal.buyer_id
    return ctx


def load_offer(entry) -> dict | None:
    """``default.offer``: the deal offered to a runner-up at their own last price (第二十二条)."""
    from exchange.exceptions.models import RunnerUpOffer
    from exchange.registrations.models import Registration
    offer = db.session.get(RunnerUpOffer, int(entry.object_id))
    if offer is None:
        return None
    reg = db.session.get(Registration, offer.registration_id)
    ctx = _listing_fields(reg.listing)
    ctx.update(offer=offer, buyer_id=reg.buyer_id, price=format_yuan(offer.price), due=when(offer.due_at))
    return ctx


def load_recount(entry) -> dict | None:
    """A deadline moved by a change of the holiday calendar (``deadline.recomputed``): the listing, what moved."""
    import json
    ctx = load_listing(entry)
    if ctx is None:
        return None
    after = json.loads(entry.after or "{}")
    ctx.update(label=after.get("label", "期限"), old=after.get("old", ""), new=after.get("new", ""),
               buyer_id=after.get("buyer_id"), model=after.get("model", ""))
    return ctx


def recount_people(ctx: dict) -> list[int]:
    """A buyer's own clock (review, deposit, refund, offer) to that buyer; a listing's or deal's clock to the
    transferor's side and the buyer concerned (every buyer in play for the announcement's clocks)."""
    if ctx["model"] in ("registration", "refund", "offer"):
        return [ctx["buyer_id"]] if ctx["buyer_id"] else []
    if ctx["model"] == "listing":
        return parties_and_buyers(ctx)
    return ([ctx["buyer_id"]] if ctx["buyer_id"] else []) + listing_people(ctx)


def offer_link(ctx: dict, user_id: int) -> str:
    return path_for("defaults.offer_page", offer_id=ctx["offer"].id)


# --- the table ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Send:
    """One group of recipients of an event, with their title, body and link."""

    to: Callable[[dict], Iterable[int]]  # user ids
    title: str  # str.format templates over the context's text fields
    body: str
    link: Callable[[dict, int], str] = listing_link


@dataclass(frozen=True)
class Rule:
    kind: str
    load: Callable[[object], dict | None]
    sends: tuple[Send, ...]


_SUSPENDED = Rule("listing.suspended", load_listing, (Send(
    parties_and_buyers, "交易中止：{title}",
    "项目 {no}「{title}」已中止交易（第二十三条）。中止事由：{reason}。中止期间各项期限暂停计算，"
    "重启后按剩余时间继续；请留意后续通知。"),))
_RETURNED = "{by}退回了挂牌项目 {no}「{title}」，理由：{reason}。请按要求补正材料后重新提交。"

RULES: dict[str, Rule] = {
    # 挂牌: returned / approved / published (to the clerk who submitted it and the transferor's account)
    "listing.station_return": Rule("listing.returned", load_listing, (Send(
        listing_people, "项目被退回修改：{title}", _RETURNED),)),
    "listing.center_return": Rule("listing.returned", load_listing, (Send(
        listing_people, "项目被退回修改：{title}", _RETURNED),)),
    "listing.center_reject": Rule("listing.rejected", load_listing, (Send(
        listing_people, "项目不予受理：{title}", "交易中心对挂牌项目 {no}「{title}」作出不予受理的决定，理由：{reason}。"),)),
    "listing.station_pass": Rule("listing.approved", load_listing, (Send(
        listing_people, "项目已通过初审：{title}", "挂牌项目「{title}」已通过{station}初审，已报送交易中心审核。"),)),
    "listing.center_approve": Rule("listing.published", load_listing, (Send(
        listing_people, "项目已发布公告：{title}",
        "挂牌项目「{title}」已审核通过并发布公告，项目编号 {no}。公告期至 {announce_end}，"
        "意向受让方须在 {deposit_deadline} 前交纳保证金。"),)),
    "listing.fail": Rule("listing.failed", load_listing, (Send(
        parties_and_buyers, "项目流拍：{title}",
        "项目 {no}「{title}」流拍（{reason}）。已交纳的保证金将在 5 个工作日内无息退还；转让方可申请重新挂牌。"),)),
    # 意向受让登记: qualification result, deposit received (to that buyer only)
    "registration.qualify": Rule("registration.qualified", load_registration, (Send(
        the_buyer, "受让资格已确认：{title}",
        "您报名的项目 {no}「{title}」资格审核通过。请于 {deadline} 前交纳保证金 {deposit} 元（缴款码 {payment_ref}），"
        "以到账时间为准，逾期视为放弃受让意向（第十九条）。", registration_link),)),
    "registration.reject": Rule("registration.rejected", load_registration, (Send(
        the_buyer, "受让资格未通过：{title}", "您报名的项目 {no}「{title}」资格审核未通过，理由：{note}。",
        registration_link),)),
    "registration.deposit_paid": Rule("deposit.received", load_registration, (Send(
        the_buyer, "保证金已到账：{title}",
        "您为项目 {no}「{title}」交纳的保证金 {deposit} 元已于 {paid_at} 到账。您的竞买号为 {bidder_no}，请妥善保管，"
        "不要告诉他人。", registration_link),)),
    "registration.abandoned": Rule("deposit.abandoned", load_registration, (Send(
        the_buyer, "逾期未交保证金，视为放弃：{title}",
        "您报名的项目 {no}「{title}」的保证金未在 {deadline} 前到账，按公告约定视为放弃受让意向（第十九条）。"
        "如款项已汇出，到账后将原路退还。", registration_link),)),
    # 成交: the winner, the other paid bidders, the transferor's account
    "deal.concluded": Rule("deal.concluded", load_deal, (
        Send(the_buyer, "恭喜您成交：{title}",
             "项目 {no}「{title}」以 {price} 元成交（{method}），现进入交易公示，公示期至 {publicity_end}。"
             "公示期满后请按通知于 {contract_due} 前签订合同（第十六条）。"),
        Send(losers, "项目已成交，您未成交：{title}",
             "项目 {no}「{title}」已成交，您未成交。您交纳的保证金将在 5 个工作日内无息退还（第十九条）。"),
        Send(transferor, "您的项目已成交：{title}",
             "项目 {no}「{title}」以 {price} 元成交（{method}），现进入交易公示，公示期至 {publicity_end}。"),
    )),
    # 签约 / 结算 / 鉴证: due and done
    "contract.open": Rule("contract.due", load_contract, (Send(
        buyer_and_parties, "请签订合同：{title}",
        "项目 {no}「{title}」交易公示期满，合同草稿已生成。请于 {due} 前在线确认合同并签字盖章（第十六条），"
        "逾期按违约处理。", contract_link),)),
    "contract.effective": Rule("contract.done", load_contract, (Send(
        buyer_and_parties, "合同已生效：{title}", "项目 {no}「{title}」的合同 {contract_no} 已生效，进入交易资金结算。",
        contract_link),)),
    "settlement.open": Rule("settlement.due", load_settlement, (Send(
        the_buyer, "请交付价款：{title}", "项目 {no}「{title}」开始结算。{pay_text}", settlement_link),)),
    "listing.settled": Rule("settlement.done", load_settled_listing, (Send(
        buyer_and_parties, "资金结算完成：{title}",
        "项目 {no}「{title}」的交易资金已结算完毕，交易中心将于 {cert_due} 前出具鉴证书（第十八条）。", settlement_link),)),
    "certificate.issue": Rule("certificate.issued", load_certificate, (Send(
        buyer_and_parties, "鉴证书已出具：{title}",
        "项目 {no}「{title}」的农村产权流转交易鉴证书已出具，编号 {cert_no}，可凭编号在平台查验真伪。",
        certificate_link),)),
    # 退款 made (to the buyer whose deposit it was)
    "refund.approve": Rule("refund.made", load_refund, (Send(
        the_buyer, "保证金已退还：{title}",
        "您为项目 {no}「{title}」交纳的保证金 {amount} 元已退还（银行回单号 {bank_ref}），不计利息，请注意查收。",
        registration_link),)),
    # 违约 (第二十二条): the defaulting buyer and the transferor's side; the runner-up who is offered the deal
    "listing.default": Rule("deal.defaulted", load_default, (Send(
        buyer_and_parties, "买受人违约：{title}",
        "项目 {no}「{title}」的买受人违约（{reason}），其交纳的保证金按公告约定不予退还（第二十二条）。"
        "交易中心将向次高报价人发出要约或重新挂牌。"),)),
    "default.offer": Rule("default.offer", load_offer, (Send(
        the_buyer, "您收到成交要约：{title}",
        "项目 {no}「{title}」的原买受人违约，交易中心按您的最后报价 {price} 元向您发出成交要约。"
        "请于 {due} 前登录平台答复（接受或放弃），逾期未答复视为放弃。", offer_link),)),
    # a deadline moved by a change of the holiday calendar (the State Council's notice confirmed)
    "deadline.recomputed": Rule("deadline.moved", load_recount, (Send(
        recount_people, "期限调整：{title}",
        "因节假日安排调整，项目 {no}「{title}」的{label}由 {old} 调整为 {new}。请按新的期限办理。"),)),
    # 中止 / 重启 / 终结 (the transferor's side and every buyer still in play)
    "listing.suspend": _SUSPENDED,
    "listing.objection_upheld": _SUSPENDED,
    "listing.restart": Rule("listing.restarted", load_listing, (Send(
        parties_and_buyers, "交易重启：{title}",
        "项目 {no}「{title}」已重启交易（{reason}）。中止时暂停的各项期限按剩余时间继续计算，请按页面显示的新期限办理。"),)),
    "listing.terminate": Rule("listing.terminated", load_listing, (Send(
        parties_and_buyers, "交易终结：{title}",
        "项目 {no}「{title}」已终结交易（第二十四条）：{reason}。已交纳的保证金将在 5 个工作日内无息退还。"),)),
}


@audit_recorded.connect
def on_audit(entry) -> None:
    """The receiver of ``exchange.audit.services.recorded``: every entry, inside its transaction.

    Unmapped actions cost one dict lookup.  Mapped ones write their notifications inside a savepoint: if
    that fails, the audited operation goes on without them (logged) — except under ``TESTING``, where the
    error is raised so a mistake in a rule cannot hide.
    """
    rule = RULES.get(entry.action)
    if rule is None:
        return
    try:
        with savepoint(db.session):
            _apply(rule, entry)
    except Exception:
        log.exception("notifications for audit entry %s (%s) failed", entry.seq, entry.action)
        if current_app.testing:
            raise


def _apply(rule: Rule, entry) -> list[Notification]:
    if entry.object_id is None:
        return []
    ctx = rule.load(entry)
    if ctx is None:
        return []
    done: set[int] = set()
    if entry.actor_id is not None:
        done.add(entry.actor_id)  # nobody is told about their own action
    out = []
    for send in rule.sends:
        for uid in send.to(ctx):
            if uid is None or uid in done:
                continue
            done.add(uid)
            n = notify(uid, rule.kind, _fmt(send.title, ctx), _fmt(send.body, ctx), link=send.link(ctx, uid),
                       listing_id=ctx.get("listing_id"))
            if n is not None:
                out.append(n)
    return out


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
                     "（第十九条）。如已付款请忽略本通知。",
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
        .where(Contract.state.in_(("draft", "confirmed")), Contract.due_at > now,
               Contract.due_at <= now + REMIND_HORIZON, Listing.state == "contract")
        .order_by(Contract.due_at, Contract.id)).all()
    return _remind([(c.id, c.due_at, _contract_people(c)) for c in rows], CONTRACT_KEY, now)


def remind_contract(contract_id: int, now: datetime) -> bool:
    from exchange.contracts.models import Contract
    c = lock_row(db.session, Contract, contract_id)
    if (c is None or c.state not in ("draft", "confirmed") or c.listing.state != "contract"
            or not is_remind_time(c.due_at, now)):
        return False
    listing = c.listing
    todo = "在线确认合同并签字盖章" if c.state == "draft" else "上传签字盖章的合同扫描件"
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
                     f"{s.payment_ref}），须于 {when(s.due_at)} 前到账（第十七条），逾期按违约处理。如已付款请忽略本通知。",
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


# --- delivery (sweeper, after commit) ---------------------------------------------------------------

def pending_delivery_ids(now: datetime) -> list[int]:
    return list(db.session.scalars(select(Delivery.id).where(Delivery.status == "pending")
                                   .order_by(Delivery.id).limit(DELIVER_BATCH)))


def _email_text(n: Notification) -> tuple[str, str]:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    body = n.body or n.title
    if n.link:
        body += f"\n\n详情请登录平台查看：{base}{n.link}"
    body += "\n\n——临湘市农村产权流转交易平台（本邮件由系统自动发送，请勿直接回复）"
    return f"【临湘农村产权交易】{n.title}", body


def _sms_text(n: Notification) -> str:
    return f"【临湘农村产权交易】{n.title}。详情请登录平台“我的通知”查看。"


def deliver(delivery_id: int, now: datetime) -> bool:
    """Send one pending delivery (locked first, so it is sent by one process only)."""
    from exchange.notifications.channels import backend_for
    d = lock_row(db.session, Delivery, delivery_id)
    if d is None or d.status != "pending":
        return False
    n = d.notification
    user = db.session.get(User, n.user_id)
    address = address_of(user, d.channel) if user is not None and user.active else None
    if address is None:
        d.status, d.error = "skipped", "账号已停用或已无该联系方式"
        return True
    d.attempts = (d.attempts or 0) + 1
    d.address = masked(d.channel, address)
    try:
        backend = backend_for(d.channel)
        if d.channel == "email":
            subject, body = _email_text(n)
            backend.send(address, subject, body)
        else:
            backend.send(address, _sms_text(n))
    except Exception as exc:  # noqa: BLE001 — any failure of the channel: counted, recorded, retried
        d.error = f"{type(exc).__name__}: {exc}"[:300]
        if d.attempts >= MAX_ATTEMPTS:
            d.status = "failed"
        log.warning("notification delivery %s (%s) attempt %s failed: %s", d.id, d.channel, d.attempts, d.error)
        return True
    d.status, d.sent_at, d.error = "sent", clock.now(), ""
    return True


# --- reading (pages, API) ---------------------------------------------------------------------------

def own_stmt(user, unread_only: bool = False):
    require(user, "work.view")
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_count(user) -> int:
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id,
                                                                       Notification.read_at.is_(None))) or 0


def get_own(user, notification_id: int) -> Notification | None:
    """The user's own notification, or None (someone else's is as good as missing)."""
    require(user, "work.view")
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        return None
    return n


def mark_read(user, n: Notification) -> Notification:
    require(user, "work.view")
    if n.user_id != user.id:
        raise NotificationError("只能处理自己的通知。")
    if n.read_at is None:
        n.read_at = clock.now()
        db.session.flush()
    return n


def mark_all_read(user) -> int:
    require(user, "work.view")
    result = db.session.execute(update(Notification).where(Notification.user_id == user.id,
                                                           Notification.read_at.is_(None))
                                .values(read_at=clock.now()).execution_options(synchronize_session=False))
    db.session.flush()
    return result.rowcount or 0


def safe_link(link: str | None) -> str | None:
    """Only paths inside the platform are followed (never another site)."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None
