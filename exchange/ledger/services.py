"""Posting to the ledger and checking its invariants.

Every money movement of the platform is one call here; each posts one balanced journal entry:

=====================  ==========================================  =====================================
movement               debit (+)                                   credit (−)
=====================  ==========================================  =====================================
deposit arrives        BANK                                        DEP (the buyer's deposit on a listing)
deposit refunded       DEP                                         BANK
deposit → price        DEP                                         PRICE (held for the listing's seller)
deposit forfeited      DEP                                         FORFEIT (per the announced rules)
price arrives          BANK                                        PRICE
service fee            PRICE                                       FEE
payout to seller       PRICE                                       BANK
unbookable money in    BANK                                        SUSPENSE (held until returned)
returned to the payer  SUSPENSE                                    BANK
=====================  ==========================================  =====================================

Operations that take money off an account lock that account's row first (an UPDATE, which serialises
writers on PostgreSQL and SQLite alike), then read its balance, so two concurrent refunds of one
deposit cannot both succeed.  External events carry an idempotency key: booking the same bank line or
payment callback twice returns the first entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from exchange.audit.services import record
from exchange.db import get_or_create, savepoint
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.ledger.models import JournalEntry, JournalLine, LedgerAccount
from exchange.money import format_yuan, to_money

LIABILITY_KINDS = ("deposit", "price", "fee", "forfeit", "suspense")


class LedgerError(ServiceError):
    """A movement that would break the books; nothing is posted."""


# --- accounts -------------------------------------------------------------------------------------

def _account(code: str, kind: str, name: str, listing_id: int | None = None,
             party_user_id: int | None = None) -> LedgerAccount:
    return get_or_create(db.session, LedgerAccount, code=code,
                         defaults=dict(kind=kind, name=name, listing_id=listing_id, party_user_id=party_user_id))


def bank_account() -> LedgerAccount:
    return _account("BANK", "bank", "交易中心指定账户（银行存款）")


def deposit_account(listing, user) -> LedgerAccount:
    return _account(f"DEP-L{listing.id}-U{user.id}", "deposit",
                    f"{listing.project_no or '#' + str(listing.id)} 保证金 · {user.display_name}",
                    listing_id=listing.id, party_user_id=user.id)


def price_account(listing) -> LedgerAccount:
    return _account(f"PRICE-L{listing.id}", "price", f"{listing.project_no or '#' + str(listing.id)} 待划付价款",
                    listing_id=listing.id)


def fee_account(listing) -> LedgerAccount:
    """The center's service fee on one listing (kept per listing so each listing's money reconciles)."""
    return _account(f"FEE-L{listing.id}", "fee", f"{listing.project_no or '#' + str(listing.id)} 交易服务费",
                    listing_id=listing.id)


def forfeit_account(listing) -> LedgerAccount:
    return _account(f"FORFEIT-L{listing.id}", "forfeit",
                    f"{listing.project_no or '#' + str(listing.id)} 没收的保证金", listing_id=listing.id)


def existing_forfeit_account(listing) -> LedgerAccount | None:
    """The listing's forfeit account if a forfeiture ever opened it — for pages, which only read."""
    return db.session.scalar(select(LedgerAccount).where(LedgerAccount.code == f"FORFEIT-L{listing.id}"))


def suspense_account(code: str, name: str, listing=None) -> LedgerAccount:
    """A suspense account for one unbookable arrival (``code`` names the event, e.g. a statement line)."""
    return _account(f"SUS-{code}", "suspense", name, listing_id=getattr(listing, "id", None))


def balance(account: LedgerAccount) -> Decimal:
    """The sum of the account's lines (debit +): the bank is positive, money held for others negative."""
    total = db.session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))
                              .where(JournalLine.account_id == account.id))
    return to_money(Decimal(total))


def held(account: LedgerAccount) -> Decimal:
    """What a liability account holds for its owner (positive)."""
    return -balance(account)


def _lock(account: LedgerAccount) -> None:
    db.session.execute(update(LedgerAccount).where(LedgerAccount.id == account.id)
                       .values(code=LedgerAccount.code).execution_options(synchronize_session=False))


# --- posting --------------------------------------------------------------------------------------

def post(kind: str, lines: list[tuple[LedgerAccount, Decimal]], *, listing=None, memo: str = "",
         idempotency_key: str | None = None, actor=None) -> JournalEntry:
    """Post one balanced entry (flushes; the caller commits)."""
    if idempotency_key:
        existing = db.session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key))
        if existing is not None:
            return existing
    clean = []
    for account, amount in lines:
        if isinstance(amount, float):
            raise TypeError("money must be Decimal")
        amount = to_money(amount, strict=True)
        if amount == 0:
            raise LedgerError("分录金额不能为零。")
        clean.append((account, amount))
    if len(clean) < 2 or sum(a for _, a in clean) != 0:
        raise LedgerError("分录借贷不平衡。")
    entry = JournalEntry(kind=kind, listing_id=getattr(listing, "id", None), memo=memo[:300],
                         idempotency_key=idempotency_key, created_by_id=getattr(actor, "id", None))
    entry.lines = [JournalLine(account=acc, amount=amt) for acc, amt in clean]
    try:
        with savepoint(db.session):
            db.session.add(entry)
    except IntegrityError:
        if idempotency_key:  # the same event booked concurrently: the first one stands
            existing = db.session.scalar(select(JournalEntry)
                                         .where(JournalEntry.idempotency_key == idempotency_key))
            if existing is not None:
                return existing
        raise
    total = sum(a for _, a in clean if a > 0)
    record(f"ledger.{kind}", f"记账：{memo or kind}，金额 {format_yuan(total)} 元", obj_type="journal_entry",
           obj_id=entry.id, after={"kind": kind, "listing": entry.listing_id, "key": idempotency_key,
                                   "lines": [[acc.code, str(amt)] for acc, amt in clean]}, actor=None)
    return entry


def _positive(amount) -> Decimal:
    amount = to_money(amount, strict=True)
    if amount <= 0:
        raise LedgerError("金额必须大于零。")
    return amount


def record_deposit(listing, buyer, amount, *, key: str, actor=None, memo: str = "") -> JournalEntry:
    amount = _positive(amount)
    return post("deposit_in", [(bank_account(), amount), (deposit_account(listing, buyer), -amount)],
                listing=listing, idempotency_key=key, actor=actor, memo=memo or f"保证金到账 {buyer.display_name}")


def _take_all(kind: str, source: LedgerAccount, target: LedgerAccount, listing, actor, memo: str,
              key: str | None = None) -> JournalEntry:
    _lock(source)
    amount = held(source)
    if amount <= 0:
        raise LedgerError("该账户没有可处理的余额（可能已退还、转付或没收）。")
    return post(kind, [(source, amount), (target, -amount)], listing=listing, actor=actor, memo=memo,
                idempotency_key=key)


def refund_deposit(listing, buyer, *, actor=None, key: str | None = None) -> JournalEntry:
    return _take_all("refund", deposit_account(listing, buyer), bank_account(), listing, actor,
                     f"退还保证金 {buyer.display_name}", key)


def convert_deposit(listing, buyer, *, actor=None) -> JournalEntry:
    return _take_all("convert", deposit_account(listing, buyer), price_account(listing), listing, actor,
                     f"保证金转为价款 {buyer.display_name}")


def forfeit_deposit(listing, buyer, *, actor=None) -> JournalEntry:
    return _take_all("forfeit", deposit_account(listing, buyer), forfeit_account(listing), listing, actor,
                     f"没收保证金 {buyer.display_name}")


def hold_in_suspense(account: LedgerAccount, amount, *, key: str, listing=None, actor=None,
                     memo: str = "") -> JournalEntry:
    """Money that arrived but cannot be booked as what it claims to be: held until returned."""
    amount = _positive(amount)
    return post("suspense_in", [(bank_account(), amount), (account, -amount)], listing=listing,
                idempotency_key=key, actor=actor, memo=memo or "无法入账的进账，挂账待退")


def return_from(account: LedgerAccount, *, actor=None, key: str | None = None, memo: str = "") -> JournalEntry:
    """Pay back everything a liability account holds (a deposit refund or a suspense return)."""
    kind = "refund" if account.kind == "deposit" else "return"
    listing = db.session.get(_listing_model(), account.listing_id) if account.listing_id else None
    return _take_all(kind, account, bank_account(), listing, actor, memo or f"退还 {account.name}", key)


def _listing_model():
    from exchange.listings.models import Listing
    return Listing


def record_price_payment(listing, amount, *, key: str, actor=None) -> JournalEntry:
    amount = _positive(amount)
    return post("price_in", [(bank_account(), amount), (price_account(listing), -amount)], listing=listing,
                idempotency_key=key, actor=actor, memo="成交价款到账")


def _take(kind: str, source: LedgerAccount, target: LedgerAccount, amount, listing, actor, memo: str,
          key: str | None = None) -> JournalEntry:
    amount = _positive(amount)
    _lock(source)
    available = held(source)
    if amount > available:
        raise LedgerError(f"余额不足：可用 {format_yuan(available)} 元，需要 {format_yuan(amount)} 元。")
    return post(kind, [(source, amount), (target, -amount)], listing=listing, actor=actor, memo=memo,
                idempotency_key=key)


def charge_fee(listing, amount, *, actor=None) -> JournalEntry:
    return _take("fee", price_account(listing), fee_account(listing), amount, listing, actor, "收取交易服务费")


def pay_out(listing, amount, *, actor=None, key: str | None = None) -> JournalEntry:
    return _take("payout", price_account(listing), bank_account(), amount, listing, actor, "价款划付转让方", key)


# --- invariants -----------------------------------------------------------------------------------

@dataclass
class ListingMoney:
    money_in: Decimal
    money_out: Decimal
    held: Decimal


def listing_money(listing_id: int) -> ListingMoney:
    bank = bank_account()
    rows = db.session.execute(
        select(JournalLine.amount).join(JournalEntry).where(JournalEntry.listing_id == listing_id,
                                                            JournalLine.account_id == bank.id)).scalars().all()
    money_in = sum((a for a in rows if a > 0), Decimal("0.00"))
    money_out = -sum((a for a in rows if a < 0), Decimal("0.00"))
    held_total = -(db.session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount), 0)).join(LedgerAccount)
        .where(LedgerAccount.listing_id == listing_id, LedgerAccount.kind.in_(LIABILITY_KINDS))) or 0)
    return ListingMoney(to_money(money_in), to_money(money_out), to_money(Decimal(held_total)))


def check() -> list[str]:
    """Every invariant of the books; an empty list means they hold."""
    problems: list[str] = []
    sums = db.session.execute(select(JournalLine.entry_id, func.sum(JournalLine.amount), func.count(JournalLine.id))
                              .group_by(JournalLine.entry_id)).all()
    for entry_id, total, n in sums:
        if Decimal(total) != 0:
            problems.append(f"分录 #{entry_id} 借贷不平衡（差额 {total}）")
        if n < 2:
            problems.append(f"分录 #{entry_id} 只有 {n} 行")
    empty = db.session.scalars(select(JournalEntry.id).where(~JournalEntry.lines.any())).all()
    problems += [f"分录 #{e} 没有明细行" for e in empty]
    for acc in db.session.scalars(select(LedgerAccount).where(LedgerAccount.kind.in_(LIABILITY_KINDS))):
        if held(acc) < 0:
            problems.append(f"账户 {acc.code} 透支 {format_yuan(-held(acc))} 元")
    listing_ids = db.session.scalars(select(JournalEntry.listing_id).where(JournalEntry.listing_id.is_not(None))
                                     .distinct()).all()
    for lid in listing_ids:
        m = listing_money(lid)
        if m.money_in != m.money_out + m.held:
            problems.append(f"项目 #{lid}：进账 {m.money_in} ≠ 出账 {m.money_out} + 在账 {m.held}")
    both = db.session.execute(
        select(JournalLine.account_id).join(JournalEntry)
        .where(JournalEntry.kind.in_(("refund", "convert")))
        .group_by(JournalLine.account_id)
        .having(func.count(func.distinct(JournalEntry.kind)) > 1)).scalars().all()
    for acc_id in both:
        acc = db.session.get(LedgerAccount, acc_id)
        if acc.kind == "deposit":
            problems.append(f"保证金账户 {acc.code} 既有退还又有转为价款")
    bank_total = balance(bank_account())
    held_total = -(db.session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0)).join(LedgerAccount)
                                     .where(LedgerAccount.kind.in_(LIABILITY_KINDS))) or 0)
    if bank_total != to_money(Decimal(held_total)):
        problems.append(f"指定账户余额 {bank_total} ≠ 各项代管资金合计 {held_total}")
    return problems
