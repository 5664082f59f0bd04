"""资金结算 (第十七条, 第十九条(二), 第二十一条; DESIGN §3.5, §3.7).

Once the deal's contract is effective the buyer owes price − converted deposit (plus its share of the
service fee), due within 10 calendar days of the contract taking effect.  The balance arrives the same
three ways a deposit does (online through a provider, a bank receipt confirmed by finance, a statement
line whose memo carries the JS… 缴款码) and ends in one booking function, :func:`book_balance`: the
exact amount only, never guessed.  Then finance charges the fees (one fee table, :func:`compute_fees`),
opens the payout of price − seller fee to the listing's account (household → the household; collective
→ the collective economic organisation's legal account), one finance user records the bank transfer and
another approves it; the approval posts the payout, settles, and moves the listing on to 鉴证.

=====================  ==========================  ==========================================
step                   ledger                       state
=====================  ==========================  ==========================================
ensure_settlement      DEP → PRICE (convert)        settlement awaiting (or paid when nothing due)
book_balance           BANK → PRICE                 paid
charge_fees            PRICE → FEE                  payout pending
record_transfer        –                            payout recorded (maker)
approve                PRICE → BANK                 payout approved (checker ≠ maker); settled
=====================  ==========================  ==========================================
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.audit.services import record
from exchange.contracts.services import contract_effective
from exchange.db import savepoint
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.ledger import refunds
from exchange.ledger import services as ledger
from exchange.ledger import transfers
from exchange.money import format_yuan, to_money
from exchange.payments import payables
from exchange.settlement.models import FEE_PAYERS, FeeRule, Payout, Settlement
from exchange.settlement.states import PAYOUT, SETTLEMENT, PayoutState
from exchange.workdays.services import due_after_days, due_after_working_days

SETTLEMENT_DAYS = 10        # 第十七条: 完成合同签订后 10 天内完成资金结算
CERTIFICATE_WORKING_DAYS = 3  # 第十八条
CENT = Decimal("0.01")
SOURCES = {"online": "网上支付", "receipt": "银行回单", "statement": "银行流水导入", "none": "无需支付"}
PAYOUT_STATES = PayoutState.labels()


def _who(user):
    """The audit actor for a user passed to a service (None: whoever the request or CLI says)."""
    if user is None:
        return None
    from flask import has_request_context, request

    from exchange.audit.services import actor_for_user
    return actor_for_user(user, request.remote_addr if has_request_context() else None)


class SettlementError(ServiceError):
    """A settlement step that cannot be taken."""


class NotPayable(SettlementError):
    """A balance payment that cannot be booked as it stands; ``code`` says why (partial, excess …)."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message, field)
        self.code = code


# --- the fee table --------------------------------------------------------------------------------

def fee_rule_for(category_id: int | None) -> FeeRule | None:
    """The active row of the listing's category, else the active default row, else None (no fee)."""
    if category_id is not None:
        rule = db.session.scalar(select(FeeRule).where(FeeRule.category_id == category_id, FeeRule.active.is_(True)))
        if rule is not None:
            return rule
    return db.session.scalar(select(FeeRule).where(FeeRule.category_id.is_(None), FeeRule.active.is_(True)))


def fee_amount(rule: FeeRule | None, price: Decimal) -> Decimal:
    """rate × price (to the 分, half up) or the fixed amount, then clamped to [min, max]."""
    if rule is None:
        return Decimal("0.00")
    if rule.basis == "fixed":
        fee = to_money(rule.fixed_amount or 0)
    else:
        fee = (Decimal(price) * Decimal(rule.rate or 0)).quantize(CENT, rounding=ROUND_HALF_UP)
    if rule.min_fee is not None and fee < rule.min_fee:
        fee = to_money(rule.min_fee)
    if rule.max_fee is not None and fee > rule.max_fee:
        fee = to_money(rule.max_fee)
    return to_money(fee)


def split_fee(fee: Decimal, payer: str) -> tuple[Decimal, Decimal]:
    """(buyer's part, seller's part); ``both`` halves it, the odd 分 to the buyer."""
    fee = to_money(fee)
    if payer == "buyer":
        return fee, Decimal("0.00")
    if payer == "seller":
        return Decimal("0.00"), fee
    if payer == "both":
        cents = int(fee * 100)
        seller = Decimal(cents // 2) / 100
        return to_money(fee - seller), to_money(seller)
    raise SettlementError("收费标准的付费方不正确。")


def compute_fees(listing, price: Decimal) -> tuple[Decimal, Decimal]:
    rule = fee_rule_for(listing.category_id)
    return split_fee(fee_amount(rule, price), rule.payer if rule else "buyer")


# --- creating the settlement ----------------------------------------------------------------------

def effective_contract(deal):
    from exchange.contracts.models import Contract
    from exchange.contracts.states import ContractState
    return db.session.scalar(select(Contract).where(Contract.deal_id == deal.id,
                                                    Contract.state.in_(ContractState.IN_FORCE)))


def for_deal(deal) -> Settlement | None:
    return db.session.scalar(select(Settlement).where(Settlement.deal_id == deal.id))


def _new_payment_ref() -> str:
    while True:
        ref = "JS" + "".join(secrets.choice("0123456789") for _ in range(10))
        if not db.session.scalar(select(Settlement.id).where(Settlement.payment_ref == ref)):
            return ref


def ensure_settlement(deal, actor=None) -> Settlement:
    """The deal's settlement, created the first time it is needed (idempotent; only once the contract is
    effective).  Creating it converts the winner's deposit into the price: what is held, up to the price;
    a deposit above the price converts whole and the excess is held and returned to the buyer."""
    existing = for_deal(deal)
    if existing is not None:
        return existing
    contract = effective_contract(deal)
    if contract is None:
        raise SettlementError("合同尚未生效，不能办理结算。")
    listing, buyer = deal.listing, deal.registration.buyer
    price = to_money(deal.price)
    buyer_fee, seller_fee = compute_fees(listing, price)
    if seller_fee >= price:
        raise SettlementError("转让方应付的服务费不低于成交价，请先核对收费标准。")
    start = contract.effective_at or clock.now()
    try:
        with savepoint(db.session):
            # a procurement's price is paid by the collective to the supplier outside the exchange (DESIGN §3.12):
            # nothing of it passes the ledger, and the bonds go back (exchange.procurement.services.refund_bonds)
            outside = listing.is_procurement
            s = Settlement(deal_id=deal.id, listing_id=listing.id, price=price, deposit_converted=Decimal("0.00"),
                           balance_due=Decimal("0.00") if outside else price, buyer_fee=buyer_fee,
                           seller_fee=seller_fee, payment_ref=_new_payment_ref(),
                           due_at=due_after_days(start, SETTLEMENT_DAYS).at)
            db.session.add(s)
            db.session.flush()
            account = ledger.deposit_account(listing, buyer)
            held = ledger.held(account)
            if held > 0 and not outside and refunds.unpaid_refund_of(account) is None:  # (a refund: going back)
                ledger.convert_deposit(listing, buyer, actor=actor)
                converted = min(held, price)
                if held > price:
                    excess = held - price
                    sus = ledger.suspense_account(f"JS-{s.id}-excess", f"{listing.project_no} 保证金超出成交价部分，待退"
                                                  f"（{buyer.display_name}）", listing=listing)
                    ledger.post("excess", [(ledger.price_account(listing), excess), (sus, -excess)], listing=listing,
                                actor=actor, memo=f"保证金超出成交价 {format_yuan(excess)} 元，挂账待退",
                                idempotency_key=f"settlement:{s.id}:excess")
                    refunds.open_return(sus, "other", payee=buyer.display_name)
                s.deposit_converted = converted
                s.balance_due = price - converted
            if s.amount_to_pay == 0:  # nothing left to pay (the deposit covered price and fee)
                SETTLEMENT.fire(s, "pay", actor, authorised=True)
                s.paid_at, s.source = clock.now(), "none"
            db.session.flush()
    except IntegrityError:  # created concurrently: the first one stands
        db.session.expire_all()
        existing = for_deal(deal)
        if existing is None:
            raise
        return existing
    record("settlement.open", f"开始结算 {listing.project_no}：成交价 {format_yuan(price)} 元，保证金转价款 "
           f"{format_yuan(s.deposit_converted)} 元，应付 {format_yuan(s.amount_to_pay)} 元（缴款码 {s.payment_ref}）",
           obj_type="settlement", obj_id=s.id, actor=_who(actor),
           after={"deal": deal.deal_no, "balance_due": s.balance_due, "buyer_fee": buyer_fee, "seller_fee": seller_fee,
                  "due_at": s.due_at, "payment_ref": s.payment_ref})
    return s


@contract_effective.connect
def _on_contract_effective(contract, actor=None) -> None:
    open_when_effective(contract.deal, actor)


def open_when_effective(deal, actor=None) -> Settlement | None:
    """Run when the contract becomes effective (the ``contract_effective`` signal), in the same transaction: the settlement (its 缴款码 and the
    10-day clock of 第十七条) exists from that moment, without anyone clicking.  A fee table that cannot price
    it (the seller's fee ≥ the price) does not stop the contract's effect: audited, and finance's list opens it
    (:func:`open_missing`) once the table is corrected."""
    try:
        with savepoint(db.session):
            return ensure_settlement(deal, actor)
    except SettlementError as exc:
        record("settlement.not_opened", f"合同已生效，但未能自动开始结算：{exc.message}", obj_type="deal",
               obj_id=deal.id, actor=_who(actor))
        return None


def open_missing() -> int:
    """Settlements for listings in 结算中 whose contract is effective but that have none yet."""
    from exchange.contracts.models import Contract
    from exchange.contracts.states import ContractState
    from exchange.listings.models import Listing
    from exchange.trading.models import Deal
    deals = db.session.scalars(
        select(Deal).join(Listing, Listing.id == Deal.listing_id)
        .join(Contract, Contract.deal_id == Deal.id)
        .outerjoin(Settlement, Settlement.deal_id == Deal.id)
        .where(Listing.state == "settlement", Contract.state.in_(ContractState.IN_FORCE), Settlement.id.is_(None))).all()
    n = 0
    for deal in deals:
        try:
            with savepoint(db.session):
                ensure_settlement(deal)
            n += 1
        except SettlementError:
            continue
    return n


# --- access ---------------------------------------------------------------------------------------

def is_staff_viewer(user) -> bool:
    return can(user, "settlement.manage") or can(user, "ledger.view")


def can_view(user, s: Settlement) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return is_staff_viewer(user) or s.deal.buyer_id == user.id or s.listing.transferor_user_id == user.id


def require_view(user, s: Settlement) -> None:
    if not can_view(user, s):
        raise AccessDenied("您没有权限查看该结算。")


# --- the balance ----------------------------------------------------------------------------------

def payable_problem(s: Settlement, amount: Decimal) -> NotPayable | None:
    if s.state != "awaiting":
        return NotPayable("already_paid", "该结算的价款已经到账，不能重复入账。")
    due = s.amount_to_pay
    if amount != due:
        code = "partial" if amount < due else "excess"
        return NotPayable(code, f"到账金额 {format_yuan(amount)} 元与应付金额 {format_yuan(due)} 元不符"
                                f"（{'不足' if code == 'partial' else '超出'}），请按差错处理，不能自动认定。", "amount")
    return None


def book_balance(s: Settlement, amount: Decimal, *, source: str, source_ref: str, key: str, arrived_at: datetime,
                 actor=None, receipt=None, memo: str = "") -> Settlement:
    """Book the balance that has arrived: the one place the three ways in end (the caller authorised the
    actor).  Under a lock on the settlement row, so two arrivals book it once."""
    db.session.refresh(s, with_for_update=True)
    problem = payable_problem(s, amount)
    if problem is not None:
        raise problem
    ledger.record_price_payment(s.listing, amount, key=key, actor=actor)
    SETTLEMENT.fire(s, "pay", actor, authorised=True)
    s.paid_at, s.source, s.source_ref = arrived_at, source, source_ref[:100]
    if receipt is not None:
        s.receipt_key, s.receipt_filename, s.receipt_content_type = receipt.key, receipt.filename, receipt.content_type
    db.session.flush()
    record("settlement.paid", f"价款到账：{s.payment_ref}，{format_yuan(amount)} 元（{SOURCES.get(source, source)}）"
           + (f"，{memo}" if memo else ""), obj_type="settlement", obj_id=s.id, actor=_who(actor),
           after={"source": source, "ref": source_ref, "arrived_at": arrived_at,
                  "late": arrived_at > s.due_at})
    return s


def confirm_receipt(actor, s: Settlement, amount, *, source_key: str, receipt=None, receipt_filename=None,
                    arrived_at: datetime | None = None) -> Settlement:
    """Finance confirms the balance from the bank receipt (回单), which is uploaded and kept."""
    require(actor, "settlement.manage")
    from exchange.payments.receipts import book_from_receipt
    booked = book_from_receipt(
        SettlementError, key_prefix="price", source_key=source_key, amount=amount, arrived_at=arrived_at,
        receipt=receipt, receipt_filename=receipt_filename,
        same_arrival=lambda entry: s.state != "awaiting" and entry.listing_id == s.listing_id,
        problem=lambda paid, arrived: payable_problem(s, paid),
        book=lambda paid, key, ref, arrived, stored: book_balance(s, paid, source="receipt", source_ref=ref, key=key,
                                                                  arrived_at=arrived, actor=actor, receipt=stored))
    return booked or s


# --- fees and payout ------------------------------------------------------------------------------

def fees_charged(s: Settlement) -> bool:
    return bool(db.session.scalar(select(ledger.JournalEntry.id).where(
        ledger.JournalEntry.idempotency_key == f"settlement:{s.id}:fee")))


def payout_of(s: Settlement) -> Payout | None:
    return db.session.scalar(select(Payout).where(Payout.settlement_id == s.id))


def charge_fees(actor, s: Settlement) -> Payout | None:
    """Charge the service fees (buyer's + seller's) and open the payout to the listing's account
    (第二十一条).  Idempotent: a second call returns the payout.  A procurement has no payout: the fees charged, the
    settlement is done (None)."""
    require(actor, "settlement.manage")
    db.session.refresh(s, with_for_update=True)
    if s.state == "awaiting":
        raise SettlementError("价款尚未到账，不能收取服务费和划付。")
    existing = payout_of(s)
    if existing is not None:
        return existing
    listing = s.listing
    if listing.is_procurement:  # nothing to pay out: the price is paid between the parties (DESIGN §3.12)
        return _charge_procurement_fees(actor, s)
    name, account_no = (listing.account_name or "").strip(), (listing.account_no or "").strip()
    from exchange.listings.proceeds import payee_problem
    problem = payee_problem(listing)  # 第二十一条, again: the account may have been edited since the submission
    if problem:
        raise SettlementError(f"不能划付：{problem}")
    total = s.buyer_fee + s.seller_fee
    if total > 0 and not fees_charged(s):
        entry = ledger.charge_fee(listing, total, actor=actor)
        entry.idempotency_key = f"settlement:{s.id}:fee"
    amount = s.price - s.seller_fee
    payout = Payout(settlement_id=s.id, amount=amount, payee_name=name[:100], payee_bank=(listing.account_bank or "")[:100],
                    payee_account=account_no[:40])
    db.session.add(payout)
    db.session.flush()
    record("settlement.fees", f"收取服务费 {format_yuan(total)} 元（受让方 {format_yuan(s.buyer_fee)}，转让方 "
           f"{format_yuan(s.seller_fee)}），待划付 {format_yuan(amount)} 元至 {name}", obj_type="settlement", obj_id=s.id,
           actor=_who(actor), after={"payout": payout.id, "amount": amount})
    return payout


def _charge_procurement_fees(actor, s: Settlement) -> None:
    """A procurement's settlement: the service fee (both shares arrived on the 缴款码) is charged and the settlement
    is done at once — no payout — the listing goes on to 鉴证."""
    if s.state == "settled":
        return None
    total = s.buyer_fee + s.seller_fee
    if total > 0 and not fees_charged(s):
        entry = ledger.charge_fee(s.listing, total, actor=actor)
        entry.idempotency_key = f"settlement:{s.id}:fee"
    record("settlement.fees", f"收取服务费 {format_yuan(total)} 元（中标人 {format_yuan(s.buyer_fee)}，采购人 "
           f"{format_yuan(s.seller_fee)}），合同价款由双方直接收付，无需划付", obj_type="settlement", obj_id=s.id,
           actor=_who(actor), after={"fees": total})
    SETTLEMENT.fire(s, "settle", actor, authorised=True)
    s.settled_at = clock.now()
    s.certificate_due_at = due_after_working_days(s.settled_at, CERTIFICATE_WORKING_DAYS).at
    db.session.flush()
    from exchange.listings.workflow import fire
    fire(s.listing, "settled", actor, data={"settlement": s.id, "fees": str(total)})
    return None


def _post_payout(payout: Payout, checker):
    return ledger.pay_out(payout.settlement.listing, payout.amount, actor=checker, key=f"payout:{payout.id}")


def _settle(payout: Payout, checker) -> None:
    """What follows the payout's approval: the settlement is done and the listing goes on to 鉴证 (第十八条: 3 工作日)."""
    s = payout.settlement
    SETTLEMENT.fire(s, "settle", checker, authorised=True)
    s.settled_at = payout.approved_at
    s.certificate_due_at = due_after_working_days(s.settled_at, CERTIFICATE_WORKING_DAYS).at
    db.session.flush()
    from exchange.listings.workflow import fire
    fire(s.listing, "settled", checker, data={"settlement": s.id, "payout": str(payout.amount)})


# a payout is a four-eyes transfer (exchange.ledger.transfers): 划付, under settlement.manage, audited as the user
PAYOUT_TRANSFER = transfers.TransferKind(
    name="划付", machine=PAYOUT, action="settlement.manage", error=SettlementError, obj_type="payout",
    post=_post_payout, payee=lambda payout: f"至 {payout.payee_name}", after_approve=_settle, audit_actor=_who)


def record_transfer(maker, payout: Payout, bank_ref: str) -> Payout:
    """The maker records the payout's bank transfer."""
    return transfers.record_transfer(PAYOUT_TRANSFER, maker, payout, bank_ref)


def approve(checker, payout: Payout) -> Payout:
    """The second finance user approves: the proceeds leave the books, the settlement is done and the
    listing goes on to 鉴证 (第十八条: 3 工作日)."""
    return transfers.approve(PAYOUT_TRANSFER, checker, payout)


# --- 终结 during settlement (第二十四条, DESIGN §3.11) ------------------------------------------------------

def termination_problem(listing) -> str:
    """Why the listing can no longer be terminated because of its money ("" when it can): the proceeds were paid
    out, or their transfer recorded by finance — that money has left; the case is a dispute (第二十七条)."""
    from exchange.trading.services import deal_for
    deal = deal_for(listing)
    s = for_deal(deal) if deal is not None else None
    payout = payout_of(s) if s is not None else None
    if payout is not None and payout.state in ("recorded", "approved"):
        done = "已划付" if payout.state == "approved" else "已登记划付转账"
        return (f"交易收益{done}至 {payout.payee_name}，资金已离开指定账户，不能终结交易：请登记纠纷调解（第二十七条），"
                "已出具鉴证书的可撤销鉴证书。")
    return ""


def unwind_on_termination(listing, actor=None) -> list:
    """The listing is terminated during 结算 (the settlement stage's termination hook): a payout nobody recorded is
    cancelled, fees charged go back to the price account, and everything the price account holds (converted deposit,
    balance, the buyer's fee) is put up for return to the buyer through a four-eyes refund (5 工作日).  The
    termination service refused earlier when the proceeds had left (:func:`termination_problem`)."""
    from exchange.trading.services import deal_for
    deal = deal_for(listing)
    s = for_deal(deal) if deal is not None else None
    if s is None or s.is_void:
        return []
    db.session.refresh(s, with_for_update=True)
    payout = payout_of(s)
    if payout is not None:
        if payout.state != "pending":
            raise SettlementError(termination_problem(listing) or "交易收益已划付，不能终结交易。")
        PAYOUT.fire(payout, "cancel", actor, authorised=True)
    fee_acc, price_acc = ledger.fee_account(listing), ledger.price_account(listing)
    fees = ledger.held(fee_acc)
    if fees > 0:
        ledger.post("fee_return", [(fee_acc, fees), (price_acc, -fees)], listing=listing, actor=actor,
                    memo="交易终结，退回已收取的服务费", idempotency_key=f"settlement:{s.id}:fee_return")
    SETTLEMENT.fire(s, "void", actor, reason="交易终结", authorised=True)
    opened = []
    held = ledger.held(price_acc)
    if held > 0:
        buyer = deal.registration.buyer
        sus = ledger.suspense_account(f"JS-{s.id}-terminated", f"{listing.project_no} 交易终结，应退受让方价款"
                                      f"（{buyer.display_name}）", listing=listing)
        ledger.post("terminated", [(price_acc, held), (sus, -held)], listing=listing, actor=actor,
                    memo=f"交易终结，已收价款 {format_yuan(held)} 元挂账待退", idempotency_key=f"settlement:{s.id}:terminated")
        opened.append(refunds.open_return(sus, "terminated", payee=buyer.display_name))
    db.session.flush()
    record("settlement.terminated", f"交易终结，结算作废：{listing.project_no}，退回服务费 {format_yuan(fees)} 元，"
           f"应退受让方 {format_yuan(held)} 元", obj_type="settlement", obj_id=s.id, actor=_who(actor),
           after={"fees_returned": fees, "to_return": held, "refunds": [r.id for r in opened],
                  "payout_cancelled": payout.id if payout is not None else None})
    return opened


# --- lists ----------------------------------------------------------------------------------------

def queues(now: datetime | None = None) -> dict[str, list]:
    now = now or clock.now()
    awaiting = db.session.scalars(select(Settlement).where(Settlement.state == "awaiting")
                                  .order_by(Settlement.due_at)).all()
    paid = db.session.scalars(select(Settlement).where(Settlement.state == "paid").order_by(Settlement.paid_at)).all()
    payouts = db.session.scalars(select(Payout).where(Payout.state.in_(PayoutState.UNPAID))
                                 .order_by(Payout.id)).all()
    return {
        "awaiting": [s for s in awaiting if s.due_at >= now],
        "overdue": [s for s in awaiting if s.due_at < now],
        "paid": [s for s in paid if payout_of(s) is None],
        "to_record": [p for p in payouts if p.state == "pending"],
        "to_approve": [p for p in payouts if p.state == "recorded"],
        "settled": db.session.scalars(select(Settlement).where(Settlement.state == "settled")
                                      .order_by(Settlement.settled_at.desc()).limit(20)).all(),
    }


def overdue(now: datetime | None = None) -> list[Settlement]:
    now = now or clock.now()
    return list(db.session.scalars(select(Settlement).where(Settlement.state != "settled", Settlement.due_at < now)
                                   .order_by(Settlement.due_at)))


def mask_account(no: str) -> str:
    no = no or ""
    return ("*" * max(len(no) - 4, 0) + no[-4:]) if len(no) > 4 else no


# --- the fee table, edited by the admin -----------------------------------------------------------

def _money_or_none(value, field: str, label: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = to_money(value, strict=True)
    except (ValueError, TypeError) as exc:
        raise SettlementError(f"{label}：{exc}", field=field) from None
    if amount < 0:
        raise SettlementError(f"{label}不能为负数。", field=field)
    return amount


def save_fee_rule(actor, category_id: int | None, *, basis: str, rate=None, fixed_amount=None, min_fee=None,
                  max_fee=None, payer: str = "buyer", active: bool = True, note: str = "") -> FeeRule:
    """Create or update the fee row of a category (``None``: the default row)."""
    require(actor, "fees.manage")
    if category_id is not None:
        from exchange.catalog.models import Category
        if db.session.get(Category, category_id) is None:
            raise SettlementError("交易品种不存在。", field="category_id")
    if basis not in ("rate", "fixed"):
        raise SettlementError("计费方式应为“按比例”或“固定金额”。", field="basis")
    if payer not in FEE_PAYERS:
        raise SettlementError("付费方应为受让方、转让方或双方各半。", field="payer")
    rate_value = None
    if basis == "rate":
        if rate in (None, ""):
            raise SettlementError("请填写费率（如 0.01 表示 1%）。", field="rate")
        try:
            rate_value = Decimal(str(rate).strip())
        except Exception:  # noqa: BLE001
            raise SettlementError("费率格式不正确（如 0.01 表示 1%）。", field="rate") from None
        if not rate_value.is_finite() or rate_value < 0 or rate_value >= 1:
            raise SettlementError("费率须在 0（含）到 1（不含）之间，如 0.01 表示 1%。", field="rate")
        if rate_value != rate_value.quantize(Decimal("0.00001")):
            raise SettlementError("费率最多五位小数。", field="rate")
        fixed = None
    else:
        fixed = _money_or_none(fixed_amount, "fixed_amount", "固定金额")
        if fixed is None:
            raise SettlementError("请填写固定收费金额（可以为 0）。", field="fixed_amount")
    low = _money_or_none(min_fee, "min_fee", "最低收费")
    high = _money_or_none(max_fee, "max_fee", "最高收费")
    if low is not None and high is not None and low > high:
        raise SettlementError("最低收费不能高于最高收费。", field="min_fee")
    note = (note or "").strip()
    if len(note) > 200:
        raise SettlementError("说明不能超过 200 字。", field="note")
    if category_id is None:
        rule = db.session.scalar(select(FeeRule).where(FeeRule.category_id.is_(None)))
    else:
        rule = db.session.scalar(select(FeeRule).where(FeeRule.category_id == category_id))
    before = _rule_dict(rule) if rule else None
    if rule is None:
        rule = FeeRule(category_id=category_id)
        db.session.add(rule)
    rule.basis, rule.rate, rule.fixed_amount = basis, rate_value, fixed
    rule.min_fee, rule.max_fee, rule.payer, rule.active, rule.note = low, high, payer, bool(active), note
    rule.updated_at = clock.now()
    db.session.flush()
    record("fees.save", f"修改收费标准：{'默认' if category_id is None else '品种 #' + str(category_id)}",
           obj_type="fee_rule", obj_id=rule.id, actor=_who(actor), before=before, after=_rule_dict(rule))
    return rule


def _rule_dict(rule: FeeRule) -> dict:
    return {"category_id": rule.category_id, "basis": rule.basis, "rate": str(rule.rate) if rule.rate is not None else None,
            "fixed_amount": rule.fixed_amount, "min_fee": rule.min_fee, "max_fee": rule.max_fee, "payer": rule.payer,
            "active": rule.active, "note": rule.note}


def fee_rule_label(rule: FeeRule | None) -> str:
    if rule is None:
        return "不收费"
    if rule.basis == "fixed":
        text = f"固定 {format_yuan(rule.fixed_amount or 0)} 元"
    else:
        pct = (Decimal(rule.rate or 0) * 100).normalize()
        text = f"成交价 × {pct:f}%"
    if rule.min_fee is not None:
        text += f"，最低 {format_yuan(rule.min_fee)} 元"
    if rule.max_fee is not None:
        text += f"，最高 {format_yuan(rule.max_fee)} 元"
    return text + f"；{FEE_PAYERS[rule.payer]}承担"


# the price balance is paid through payments' ways in (online orders, bank statements): payments asks this
payables.declare(payables.Payable(
    kind="settlement", what="价款", ref_pattern=re.compile(r"JS\d{10}"),
    load=lambda sid: db.session.get(Settlement, sid),
    find=lambda ref: db.session.scalar(select(Settlement).where(Settlement.payment_ref == ref)),
    problem=payable_problem, book=book_balance, not_payable=NotPayable, page="settlement.detail",
    amount_due=lambda s: s.amount_to_pay, payer=lambda s: s.deal.registration.buyer, listing=lambda s: s.listing,
    payment_ref=lambda s: s.payment_ref, due_at=lambda s: s.due_at, open=lambda s: s.state == "awaiting"))
