"""Refunds of deposits (第十九条(二)): due within 5 工作日, no interest, maker-checker.

One finance user records the bank transfer (回单号); a *different* finance user approves it, which
posts the ledger entry — the four-eyes transfer of :mod:`exchange.ledger.transfers`, declared here as
:data:`TRANSFER`.  The database refuses the same person in both roles as well.
"""
from __future__ import annotations

from sqlalchemy import select

from exchange import clock
from exchange.audit.services import record
from exchange.extensions import db
from exchange.ledger import services as ledger
from exchange.ledger import transfers
from exchange.ledger.models import Refund
from exchange.ledger.states import REFUND, RefundState
from exchange.money import format_yuan
from exchange.workdays.services import due_after_working_days

REFUND_WORKING_DAYS = 5
REASONS = {"lost": "未成交", "abandoned": "视为放弃", "rejected": "资格未通过", "terminated": "交易终结",
           "late": "逾期到账", "unmatched": "无法匹配的进账", "other": "其他",
           "forfeit": "没收的保证金划付转让方（违约赔偿）", "disqualified": "取消报名资格（第二十五条）",
           "seller_default": "转让方违约，全额退还",
           # procurement (招标/采购/招商): a supplier that paid the bond and did not bid; every bond after the contract
           "no_bid": "未递交投标文件", "bond": "投标保证金（合同签订后退还）"}


class RefundError(ledger.LedgerError):
    """A refund step that cannot be taken."""


def _post(refund: Refund, checker):
    return ledger.return_from(refund.account, actor=checker, key=f"refund:{refund.id}",
                              memo=f"退款 {refund.bank_ref}：{refund.payee}")


# a refund is a four-eyes transfer: 退款, under refunds.manage; its approval pays back all its account holds
TRANSFER = transfers.TransferKind(name="退款", machine=REFUND, action="refunds.manage", error=RefundError,
                                  obj_type="refund", post=_post)


def open_refund(registration, reason: str) -> Refund:
    """Start the 5-working-day clock for returning a registration's deposit (idempotent)."""
    if reason not in REASONS:
        raise RefundError("退款原因不正确。")
    existing = db.session.scalar(select(Refund).where(Refund.registration_id == registration.id))
    if existing is not None:
        return existing
    account = ledger.deposit_account(registration.listing, registration.buyer)
    amount = ledger.held(account)
    if amount <= 0:
        raise RefundError("该报名没有在账的保证金。")
    now = clock.now()
    refund = Refund(account_id=account.id, registration_id=registration.id, listing_id=registration.listing_id,
                    amount=amount, reason=reason, payee=registration.buyer.display_name,
                    due_at=due_after_working_days(now, REFUND_WORKING_DAYS).at)
    db.session.add(refund)
    db.session.flush()
    record("refund.open", f"应退保证金 {format_yuan(amount)} 元（{REASONS[reason]}）：{registration.buyer.display_name}",
           obj_type="refund", obj_id=refund.id, after={"due_at": refund.due_at, "registration": registration.id})
    return refund


def open_return(account, reason: str, payee: str) -> Refund:
    """Start returning money held on a suspense account to whoever paid it, or paying a listing's forfeited
    deposits to its transferor (reason ``forfeit``, 第二十二条) — idempotent; maker-checker like every refund."""
    if reason not in REASONS:
        raise RefundError("退款原因不正确。")
    if account.kind != "suspense" and not (account.kind == "forfeit" and reason == "forfeit"):
        raise RefundError("只能退回挂账待退的款项。")
    existing = db.session.scalar(select(Refund).where(Refund.account_id == account.id))
    if existing is not None:
        return existing
    amount = ledger.held(account)
    if amount <= 0:
        raise RefundError("该挂账款项没有余额。")
    refund = Refund(account_id=account.id, listing_id=account.listing_id, amount=amount, reason=reason,
                    payee=(payee or "")[:200],
                    due_at=due_after_working_days(clock.now(), REFUND_WORKING_DAYS).at)
    db.session.add(refund)
    db.session.flush()
    record("refund.open", f"应退回 {format_yuan(amount)} 元（{REASONS[reason]}）：{payee}", obj_type="refund",
           obj_id=refund.id, after={"due_at": refund.due_at, "account": account.code})
    return refund


def open_for_listing(listing, reason: str, *, keep_registration_ids=()) -> list[Refund]:
    """Open refunds for every deposit still held on a listing, except those kept (the winner's, which
    converts to price): losers after the trade (``lost``), everyone on termination (``terminated``)."""
    from exchange.registrations.models import Registration
    opened = []
    regs = db.session.scalars(select(Registration).where(Registration.listing_id == listing.id,
                                                         Registration.state == "paid")
                              .order_by(Registration.id)).all()
    for reg in regs:
        if reg.id in set(keep_registration_ids):
            continue
        if ledger.held(ledger.deposit_account(reg.listing, reg.buyer)) > 0:
            opened.append(open_refund(reg, reason))
    return opened


def unpaid_refund_of(account) -> Refund | None:
    """The refund emptying this account that is not approved yet (pending, or its transfer recorded)."""
    return db.session.scalar(select(Refund).where(Refund.account_id == account.id,
                                                  Refund.state.in_(RefundState.UNPAID)))


def withdraw(refund: Refund, why: str) -> None:
    """Take back a refund nobody has paid yet (``pending``: no transfer recorded) because the deposit is needed
    again — the runner-up accepting the deal after a default (第二十二条): the row goes, the deposit stays held
    and the audit trail keeps what was withdrawn.  The caller holds the refund's row lock."""
    if refund.state != "pending":
        raise RefundError("该退款已登记转账，不能撤回。")
    record("refund.withdraw", f"撤回应退保证金 {format_yuan(refund.amount)} 元：{refund.payee}（{why}）",
           obj_type="refund", obj_id=refund.id,
           before={"registration": refund.registration_id, "amount": refund.amount, "reason": refund.reason,
                   "due_at": refund.due_at})
    db.session.delete(refund)
    db.session.flush()


def record_transfer(maker, refund: Refund, bank_ref: str) -> Refund:
    """The maker records the refund's bank transfer (the four-eyes transfer of :mod:`exchange.ledger.transfers`)."""
    return transfers.record_transfer(TRANSFER, maker, refund, bank_ref)


def approve(checker, refund: Refund) -> Refund:
    """The second finance user approves: the deposit leaves the books."""
    return transfers.approve(TRANSFER, checker, refund)


def overdue(now=None) -> list[Refund]:
    """Refunds not approved by their due time (to be flagged to finance)."""
    now = now or clock.now()
    return list(db.session.scalars(select(Refund).where(Refund.state.in_(RefundState.UNPAID), Refund.due_at < now)
                                   .order_by(Refund.due_at)))
