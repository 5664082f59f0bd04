"""Online deposit payments: orders, and the provider's signed notifications (DESIGN §3.5).

A qualified buyer starts a :class:`PaymentOrder` and pays at the provider's checkout.  The provider's
notification is the only thing that books money: it must verify (signature, timestamp within five
minutes), a nonce is accepted once (a provider's retry of the very same notification is answered as
already processed; anything else reusing a nonce is refused as a replay), and the provider's transaction
id is booked once (ledger idempotency key).  Money that arrived but cannot be booked as the deposit (late,
wrong amount, a second payment, a registration no longer payable) is held on a suspense account and a
refund to the payer is opened: money is never left off the books, and never guessed into a deposit.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from exchange import clock
from exchange.access import AccessDenied
from exchange.audit.services import record
from exchange.db import get_or_create, savepoint
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.inputs import printable
from exchange.ledger import refunds
from exchange.ledger import services as ledger
from exchange.money import format_yuan
from exchange.payments import payables
from exchange.payments.models import PaymentNotification, PaymentOrder
from exchange.payments.providers import MAX_SKEW_SECONDS, NotificationRefused, get_provider
from exchange.payments.states import PAYMENT_ORDER
from exchange.registrations import services as rsvc
from exchange.payments import deposits

log = logging.getLogger("exchange.payments")


class PaymentError(ServiceError):
    """An online payment step that cannot be taken."""


def _new_order_no() -> str:
    while True:
        no = "PO" + clock.to_local(clock.now()).strftime("%Y%m%d") + "".join(secrets.choice("0123456789")
                                                                              for _ in range(10))
        if not db.session.scalar(select(PaymentOrder.id).where(PaymentOrder.order_no == no)):
            return no


def authorise_online_payment(buyer, reg) -> None:
    """Only the buyer pays the deposit of its own application."""
    if reg.buyer_id != getattr(buyer, "id", None):
        raise AccessDenied("只能为自己的报名交纳保证金。")


def start_online_payment(buyer, reg, provider_name: str = "sandbox") -> PaymentOrder:
    """The buyer pays the deposit online: an order for the exact amount, open until the deadline."""
    authorise_online_payment(buyer, reg)
    try:
        provider = get_provider(provider_name)
    except NotificationRefused as exc:
        raise PaymentError(exc.message, field="provider") from None
    if reg.state != "qualified":
        raise PaymentError(f"报名当前状态为“{reg.state_label}”，不能交纳保证金。")
    now = clock.now()
    if reg.deposit_deadline_at and now >= reg.deposit_deadline_at:
        raise PaymentError("已过保证金交纳截止时间，不能再支付（第十九条）。")
    open_order = db.session.scalar(select(PaymentOrder).where(PaymentOrder.registration_id == reg.id,
                                                              PaymentOrder.state == "created",
                                                              PaymentOrder.provider == provider.name))
    if open_order is not None and open_order.amount == reg.deposit_amount:
        return open_order  # pressing 网上支付 twice reuses the open order
    order = PaymentOrder(order_no=_new_order_no(), registration_id=reg.id, provider=provider.name,
                         amount=reg.deposit_amount, expires_at=reg.deposit_deadline_at,
                         created_by_id=buyer.id)
    db.session.add(order)
    db.session.flush()
    record("payment.order", f"网上支付保证金：订单 {order.order_no}，{format_yuan(order.amount)} 元",
           obj_type="registration", obj_id=reg.id, after={"order_no": order.order_no, "provider": provider.name})
    return order


def authorise_price_payment(buyer, settlement) -> None:
    """Only the deal's buyer pays its price."""
    if settlement.deal.buyer_id != getattr(buyer, "id", None):
        raise AccessDenied("只能为自己受让的项目支付价款。")


def start_price_payment(buyer, settlement, provider_name: str = "sandbox") -> PaymentOrder:
    """The buyer pays the price balance (+ its fee) online: an order for the exact amount (第十九条(二))."""
    authorise_price_payment(buyer, settlement)
    try:
        provider = get_provider(provider_name)
    except NotificationRefused as exc:
        raise PaymentError(exc.message, field="provider") from None
    if settlement.state != "awaiting":
        raise PaymentError("该结算的价款已经到账，无需再支付。")
    amount = settlement.amount_to_pay
    open_order = db.session.scalar(select(PaymentOrder).where(PaymentOrder.settlement_id == settlement.id,
                                                              PaymentOrder.state == "created",
                                                              PaymentOrder.provider == provider.name))
    if open_order is not None and open_order.amount == amount:
        return open_order
    now = clock.now()
    order = PaymentOrder(order_no=_new_order_no(), settlement_id=settlement.id, provider=provider.name,
                         amount=amount, expires_at=max(settlement.due_at, now + timedelta(days=1)),
                         created_by_id=buyer.id)
    db.session.add(order)
    db.session.flush()
    record("payment.order", f"网上支付价款：订单 {order.order_no}，{format_yuan(order.amount)} 元",
           obj_type="settlement", obj_id=settlement.id, after={"order_no": order.order_no, "provider": provider.name})
    return order


def order_owner_id(order: PaymentOrder) -> int | None:
    """The buyer an order belongs to (a deposit's registrant, or a settlement's buyer)."""
    if order.registration_id:
        return order.registration.buyer_id
    s = payables.get("settlement").load(order.settlement_id) if order.settlement_id else None
    return payables.get("settlement").payer(s).id if s else None


def checkout_url(order: PaymentOrder) -> str:
    return get_provider(order.provider).checkout_url(order)


@dataclass
class CallbackResult:
    outcome: str       # booked / duplicate / suspense / failed / refused
    message: str
    status: int        # the HTTP status the provider gets
    error: str = ""    # a code when refused
    notification: PaymentNotification | None = None


def _log(provider: str, outcome: str, message: str, body: bytes, remote_addr: str, *, nonce: str | None = None,
         signature_ok: bool = False, order_no: str = "") -> PaymentNotification:
    note = PaymentNotification(provider=provider[:20], nonce=nonce, signature_ok=signature_ok, outcome=outcome,
                               message=message[:300], order_no=printable(order_no[:32]),
                               # the provider's bytes as sent, but never a character the database refuses (NUL …)
                               body=printable(body[:4000].decode("utf-8", "replace")),
                               remote_addr=(remote_addr or "")[:45])
    db.session.add(note)
    db.session.flush()
    return note


# refusals that say nothing about the bank (anyone can send them): counted and logged, never one row each
UNVERIFIED = ("unknown_provider", "unsigned", "bad_signature")


def count_refused(provider_name: str, reason: str, remote_addr: str) -> None:
    """One more unverifiable callback: the application log, and the day's count for the provider and reason."""
    from exchange.payments.models import RefusedCallbacks
    provider = printable(provider_name)[:20]
    log.warning("payment callback refused: provider=%r reason=%s from %s", provider, reason, remote_addr or "?")
    row = get_or_create(db.session, RefusedCallbacks, lock=True, provider=provider, reason=reason,
                        day=clock.today_local(), defaults=dict(count=0, last_at=clock.now()))
    row.count += 1
    row.last_at = clock.now()
    row.last_addr = (remote_addr or "")[:45]
    db.session.flush()


def refused_counts(days: int = 30):
    """The counts of the last ``days`` days, newest first (the notifications page)."""
    from datetime import timedelta as _td
    from exchange.payments.models import RefusedCallbacks
    since = clock.today_local() - _td(days=days)
    return db.session.scalars(select(RefusedCallbacks).where(RefusedCallbacks.day > since)
                              .order_by(RefusedCallbacks.day.desc(), RefusedCallbacks.provider,
                                        RefusedCallbacks.reason)).all()


def receive_notification(provider_name: str, body: bytes, headers, remote_addr: str = "") -> CallbackResult:
    """Handle one provider notification (the HTTP callback and the sandbox bank both come here).

    Always leaves a :class:`PaymentNotification` row; the caller commits and answers the provider with
    ``result.status``.
    """
    try:
        provider = get_provider(provider_name)
        note = provider.verify(body, headers)
        if note.status == "SUCCESS" and note.amount <= 0:
            raise NotificationRefused("malformed", "通知金额必须大于零。")
        if note.paid_at > clock.now() + timedelta(seconds=MAX_SKEW_SECONDS):
            raise NotificationRefused("malformed", "通知中的到账时间晚于当前时间。")
    except NotificationRefused as exc:
        if exc.code in UNVERIFIED:
            count_refused(provider_name, exc.code, remote_addr)
            return CallbackResult("refused", exc.message, 400 if exc.code == "unknown_provider" else 401, exc.code)
        row = _log(provider_name, "refused", exc.message, body, remote_addr)
        record("payment.notification_refused", f"拒绝支付通知（{provider_name}）：{exc.message}",
               obj_type="payment_notification", obj_id=row.id, actor=None)
        return CallbackResult("refused", exc.message, 401 if exc.code in ("unsigned", "bad_signature") else 400,
                              exc.code, row)

    seen = db.session.scalar(select(PaymentNotification).where(PaymentNotification.provider == provider.name,
                                                               PaymentNotification.nonce == note.nonce))
    if seen is not None:
        return _seen_before(provider.name, seen, body, remote_addr, note)
    try:
        with savepoint(db.session):
            row = _log(provider.name, "received", "", body, remote_addr, nonce=note.nonce, signature_ok=True,
                       order_no=note.order_no)
    except IntegrityError:  # the same notification arriving twice at the same moment
        seen = db.session.scalar(select(PaymentNotification).where(PaymentNotification.provider == provider.name,
                                                                   PaymentNotification.nonce == note.nonce))
        return _seen_before(provider.name, seen, body, remote_addr, note)

    order = db.session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == note.order_no,
                                                         PaymentOrder.provider == provider.name)
                              .with_for_update())
    if order is None:
        return _finish(row, "refused", f"未知的支付订单号 {note.order_no}，未入账。", 404, "unknown_order")
    if note.status == "FAILED":
        if order.state == "created":
            PAYMENT_ORDER.fire(order, "fail", authorised=True)
            order.outcome = "支付未成功"
        return _finish(row, "failed", "已记录：支付未成功。", 200)
    if order.provider_txn_id == note.txn_id and order.state == "paid":
        return _finish(row, "duplicate", "该笔支付已处理。", 200)
    if order.settlement_id:
        price = payables.get("settlement")
        settlement = price.load(order.settlement_id)
        held = _book_or_hold(
            row, order, note, provider.name, what=price.what, booked_key=f"price:online:{provider.name}:{note.txn_id}",
            listing=price.listing(settlement), payer=price.payer(settlement), not_payable=price.not_payable,
            book=lambda key: price.book(settlement, note.amount, source="online",
                                        source_ref=f"{provider.name}:{note.txn_id}", key=key,
                                        arrived_at=note.paid_at, memo=f"网上支付 订单 {order.order_no}"))
        if held is not None:
            return held
        order.outcome = f"{price.what}已入账"
        return _finish(row, "booked", f"{price.what}已入账（缴款码 {price.payment_ref(settlement)}）。", 200)
    reg = order.registration
    held = _book_or_hold(
        row, order, note, provider.name, what="保证金", booked_key=f"deposit:online:{provider.name}:{note.txn_id}",
        listing=reg.listing, payer=reg.buyer, not_payable=rsvc.NotPayable,
        book=lambda key: deposits.book_deposit(reg, note.amount, source="online",
                                           source_ref=f"{provider.name}:{note.txn_id}", key=key,
                                           arrived_at=note.paid_at, order=order,
                                           memo=f"网上支付保证金 {reg.payment_ref} 订单 {order.order_no}"))
    if held is not None:
        return held
    order.outcome = "保证金已入账"
    return _finish(row, "booked", "保证金已入账。", 200)  # the 竞买号 is the buyer's alone


def _book_or_hold(row: PaymentNotification, order: PaymentOrder, note, provider: str, *, what: str,
                  booked_key: str, listing, payer, not_payable, book) -> CallbackResult | None:
    """Book a verified payment (a deposit or a price balance) once; money that cannot be booked as ``what``
    (late, wrong amount, a second payment of the order) is held on a suspense account and a return opened.
    None when booked; otherwise the notification's result (duplicate or suspense)."""
    held_key = f"online:{provider}:{note.txn_id}"
    if db.session.scalar(select(ledger.JournalEntry.id).where(ledger.JournalEntry.idempotency_key.in_(
            (booked_key, held_key)))):
        return _finish(row, "duplicate", "该笔支付已处理。", 200)
    second_payment = order.state == "paid"
    if not second_payment:
        PAYMENT_ORDER.fire(order, "pay", authorised=True)
        order.provider_txn_id, order.paid_at = note.txn_id, note.paid_at
    try:
        if second_payment:
            raise not_payable("already_paid", "该订单已支付过一次，本笔为重复支付。")
        book(booked_key)
    except not_payable as problem:
        account = ledger.suspense_account(f"PAY-{provider}-{note.txn_id}"[:56],
                                          f"网上支付 {order.order_no} 无法入账（{problem.message[:40]}）",
                                          listing=listing)
        ledger.hold_in_suspense(account, note.amount, key=held_key, listing=listing,
                                memo=f"网上支付无法作为{what}入账，挂账待退：订单 {order.order_no}")
        refunds.open_return(account, "late" if problem.code == "late" else "unmatched",
                            payee=f"{payer.display_name}（网上支付原路退回，交易号 {note.txn_id}）")
        order.outcome = problem.message[:300]
        return _finish(row, "suspense", f"款项已到账但不能作为{what}：{problem.message} 已挂账并登记退款。", 200)
    return None


def _seen_before(provider: str, seen: PaymentNotification, body: bytes, remote_addr: str, note) -> CallbackResult:
    same = hashlib.sha256(seen.body.encode()).digest() == hashlib.sha256(body[:4000].decode("utf-8", "replace")
                                                                         .encode()).digest()
    if same:  # the provider retrying a notification it sent: answer as before, change nothing
        row = _log(provider, "duplicate", "重复通知，已处理过。", body, remote_addr, signature_ok=True,
                   order_no=note.order_no)
        return CallbackResult("duplicate", "重复通知，已处理过。", 200, "", row)
    row = _log(provider, "refused", "随机串已使用过，疑似重放，已拒绝。", body, remote_addr, signature_ok=True,
               order_no=note.order_no)
    record("payment.notification_refused", "拒绝支付通知：随机串重复使用（疑似重放）", obj_type="payment_notification",
           obj_id=row.id, actor=None)
    return CallbackResult("refused", "随机串已使用过，疑似重放，已拒绝。", 409, "replayed", row)


def _finish(row: PaymentNotification, outcome: str, message: str, status: int, error: str = "") -> CallbackResult:
    row.outcome, row.message = outcome, message[:300]
    db.session.flush()
    record(f"payment.notification_{outcome}", f"支付通知 {row.order_no}：{message}", obj_type="payment_notification",
           obj_id=row.id, actor=None)
    return CallbackResult(outcome, message, status, error, row)


def orders_for(reg) -> list[PaymentOrder]:
    return list(db.session.scalars(select(PaymentOrder).where(PaymentOrder.registration_id == reg.id)
                                   .order_by(PaymentOrder.id.desc())))
