"""Read-only queries behind the finance workbench (台账 and refunds) pages and API.

Nothing here writes: balances are sums of journal lines, computed per page in one grouped query.
Authorisation is the caller's job (``ledger.view``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select

from exchange import clock, labels
from exchange.accounts.models import User
from exchange.extensions import db
from exchange.ledger.models import JournalEntry, JournalLine, LedgerAccount, Refund
from exchange.ledger.services import ListingMoney, listing_money
from exchange.ledger.states import RefundState
from exchange.money import to_money

REFUND_STATES = RefundState.labels()


# accounts of one listing, in the order money moves through them
_KIND_ORDER = {k: i for i, k in enumerate(("deposit", "price", "fee", "forfeit", "suspense", "bank"))}


def is_overdue(refund: Refund, now: datetime | None = None) -> bool:
    return refund.is_unpaid and refund.due_at < (now or clock.now())


def refunds_stmt(state: str | None = None, overdue: bool = False, now: datetime | None = None):
    """Refunds, the ones still to be done first (earliest due first), then the approved ones."""
    now = now or clock.now()
    stmt = select(Refund).order_by(case((Refund.state == "approved", 1), else_=0), Refund.due_at, Refund.id)
    if state in REFUND_STATES:
        stmt = stmt.where(Refund.state == state)
    if overdue:
        stmt = stmt.where(Refund.state.in_(RefundState.UNPAID), Refund.due_at < now)
    return stmt


def refund_counts(now: datetime | None = None) -> dict[str, int]:
    """How many refunds are in each state, and how many are overdue."""
    now = now or clock.now()
    counts = {s: 0 for s in REFUND_STATES}
    for state, n in db.session.execute(select(Refund.state, func.count(Refund.id)).group_by(Refund.state)):
        counts[state] = n
    counts["overdue"] = db.session.scalar(select(func.count(Refund.id)).where(
        Refund.state.in_(RefundState.UNPAID), Refund.due_at < now)) or 0
    return counts


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def refund_user_names(refunds) -> dict[int, str]:
    return user_names([r.recorded_by_id for r in refunds] + [r.approved_by_id for r in refunds])


def held_by_account(account_ids) -> dict[int, Decimal]:
    """What each liability account holds (credit balance, positive), in one query."""
    ids = list({i for i in account_ids})
    result = {i: Decimal("0.00") for i in ids}
    if not ids:
        return result
    rows = db.session.execute(select(JournalLine.account_id, func.sum(JournalLine.amount))
                              .where(JournalLine.account_id.in_(ids)).group_by(JournalLine.account_id))
    for acc_id, total in rows:
        result[acc_id] = to_money(-Decimal(total or 0))
    return result


def bank_balance() -> Decimal:
    """The designated account's balance (read-only: no account is created when there is none yet)."""
    bank_id = db.session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == "BANK"))
    if bank_id is None:
        return Decimal("0.00")
    total = db.session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))
                              .where(JournalLine.account_id == bank_id))
    return to_money(Decimal(total))


def listing_map(ids) -> dict:
    """Listings by id (for project numbers in tables)."""
    from exchange.listings.models import Listing
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {lst.id: lst for lst in db.session.scalars(select(Listing).where(Listing.id.in_(ids)))}


# --- listings ----------------------------------------------------------------------------------------

def listings_with_money_stmt():
    """Listings that have at least one journal entry, the most recent activity first."""
    from exchange.listings.models import Listing
    last = (select(JournalEntry.listing_id, func.max(JournalEntry.at).label("last_at"))
            .where(JournalEntry.listing_id.is_not(None)).group_by(JournalEntry.listing_id).subquery())
    return select(Listing).join(last, last.c.listing_id == Listing.id).order_by(last.c.last_at.desc(), Listing.id)


def money_of(listings) -> dict[int, ListingMoney]:
    return {listing.id: listing_money(listing.id) for listing in listings}


@dataclass
class AccountRow:
    account: LedgerAccount
    held: Decimal
    kind_label: str
    refund: Refund | None = None
    overdue: bool = False


def _rows(accounts, with_refunds: bool = False) -> list[AccountRow]:
    held = held_by_account([a.id for a in accounts])
    refunds = {}
    if with_refunds and accounts:
        refunds = {r.account_id: r for r in db.session.scalars(
            select(Refund).where(Refund.account_id.in_([a.id for a in accounts])))}
    now = clock.now()
    return [AccountRow(a, held[a.id], labels.label("account", a.kind), refunds.get(a.id),
                       a.id in refunds and is_overdue(refunds[a.id], now)) for a in accounts]


def listing_accounts(listing_id: int) -> list[AccountRow]:
    accounts = list(db.session.scalars(select(LedgerAccount).where(LedgerAccount.listing_id == listing_id)))
    accounts.sort(key=lambda a: (_KIND_ORDER.get(a.kind, 99), a.code))
    return _rows(accounts, with_refunds=True)


@dataclass
class LineRow:
    code: str
    name: str
    kind: str
    debit: Decimal | None
    credit: Decimal | None


@dataclass
class EntryRow:
    entry: JournalEntry
    kind_label: str
    by: str
    lines: list[LineRow] = field(default_factory=list)


def _entry_rows(entries) -> list[EntryRow]:
    names = user_names(e.created_by_id for e in entries)
    rows = []
    for e in entries:
        lines = [LineRow(ln.account.code, ln.account.name, ln.account.kind,
                         ln.amount if ln.amount > 0 else None, -ln.amount if ln.amount < 0 else None)
                 for ln in e.lines]
        rows.append(EntryRow(e, labels.label("entry", e.kind), names.get(e.created_by_id, "系统"), lines))
    return rows


def listing_entries(listing_id: int) -> list[EntryRow]:
    entries = db.session.scalars(select(JournalEntry).where(JournalEntry.listing_id == listing_id)
                                 .order_by(JournalEntry.at, JournalEntry.id)).all()
    return _entry_rows(entries)


# --- buyers and suspense -----------------------------------------------------------------------------

def buyer_accounts(user_id: int) -> list[AccountRow]:
    accounts = list(db.session.scalars(select(LedgerAccount).where(
        LedgerAccount.party_user_id == user_id, LedgerAccount.kind == "deposit").order_by(LedgerAccount.id)))
    return _rows(accounts, with_refunds=True)


def entries_touching(account_ids) -> list[EntryRow]:
    ids = list(account_ids)
    if not ids:
        return []
    touching = select(JournalLine.entry_id).where(JournalLine.account_id.in_(ids))
    entries = db.session.scalars(select(JournalEntry).where(JournalEntry.id.in_(touching))
                                 .order_by(JournalEntry.at, JournalEntry.id)).all()
    return _entry_rows(entries)


def suspense_stmt():
    return select(LedgerAccount).where(LedgerAccount.kind == "suspense").order_by(LedgerAccount.id.desc())


def suspense_rows(accounts) -> list[AccountRow]:
    return _rows(list(accounts), with_refunds=True)
