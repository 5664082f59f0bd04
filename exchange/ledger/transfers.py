"""The four-eyes bank transfer (maker-checker): the one way money leaves the designated account by hand.

One finance user records the bank transfer (回单号) — the maker; a *different* finance user approves it — the checker
— and the approval posts the journal entry, once.  Refunds of deposits and returns of unmatched money (退款,
:mod:`exchange.ledger.refunds`) and the payout of the proceeds to the transferor (划付, ``exchange.settlement``) are
two kinds of this one transfer: each declares a :class:`TransferKind` (its name in messages, its machine, the finance
right, its error, its audit words, how its entry is posted, what follows the approval) and calls
:func:`record_transfer` and :func:`approve` here.  Their rows share the columns of
:class:`~exchange.ledger.models.TransferColumns` and the ``pending → recorded → approved`` table of
:func:`~exchange.ledger.states.transfer_transitions`.

Both steps lock the row first (``SELECT … FOR UPDATE``) and read its state under the lock, so of two checkers
approving at the same moment the second waits, then finds it approved and posts nothing; the database's
``four_eyes`` constraint refuses the maker as the checker even if a caller skipped the check.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from exchange import clock
from exchange.access import require
from exchange.audit.services import record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.ledger.models import JournalEntry
from exchange.machine import Machine
from exchange.money import format_yuan


def _no_payee(row) -> str:
    return ""


def _current_actor(user) -> None:
    return None  # the audit's own: the request's user, the CLI's, or the system


@dataclass(frozen=True)
class TransferKind:
    """One kind of four-eyes transfer."""

    name: str                     # what the messages call it: 退款 / 划付
    machine: Machine              # its pending → recorded → approved machine (transfer_transitions)
    action: str                   # the finance right both steps need (refunds.manage / settlement.manage)
    error: type[ServiceError]     # what a step out of order raises
    obj_type: str                 # the audit's object type and the prefix of its actions (refund → refund.record …)
    # the posting of the approval (the row, the checker) → its journal entry, under an idempotency key of its own
    post: Callable[[Any, Any], JournalEntry]
    # how the audit text ends after "… 元": "" (a refund) or "至 <payee>" (a payout)
    payee: Callable[[Any], str] = _no_payee
    # what follows an approval, after its audit entry (the row, the checker): the payout settles its settlement
    after_approve: Callable[[Any, Any], None] | None = None
    # the audit actor for the user who acted (None: the audit's current actor)
    audit_actor: Callable[[Any], Any] = _current_actor


def _lock(row) -> None:
    """Take the row's lock and read it afresh: the state checked below is the committed one, and a second maker or
    checker waits here until the first one's transaction ends."""
    db.session.refresh(row, with_for_update=True)


def record_transfer(kind: TransferKind, maker, row, bank_ref: str):
    """The maker records the bank transfer (its 回单号): pending → recorded."""
    require(maker, kind.action)
    _lock(row)
    if not row.is_pending:
        raise kind.error(f"该{kind.name}已登记转账。")
    bank_ref = (bank_ref or "").strip()
    if not bank_ref or len(bank_ref) > 100:
        raise kind.error(f"请填写{kind.name}的银行回单号。", field="bank_ref")
    kind.machine.fire(row, "record", maker, authorised=True)
    row.bank_ref = bank_ref
    row.recorded_by_id, row.recorded_at = maker.id, clock.now()
    db.session.flush()
    record(f"{kind.obj_type}.record", f"登记{kind.name}转账 {bank_ref}，{format_yuan(row.amount)} 元{kind.payee(row)}",
           obj_type=kind.obj_type, obj_id=row.id, actor=kind.audit_actor(maker))
    return row


def approve(kind: TransferKind, checker, row):
    """A finance user other than the maker approves: the entry is posted, recorded → approved.  Approving what is
    approved already changes nothing."""
    require(checker, kind.action)
    _lock(row)
    if row.is_approved:
        return row
    if not row.is_recorded:
        raise kind.error(f"请先登记{kind.name}转账，再由另一名财务人员复核。")
    if row.recorded_by_id == checker.id:
        raise kind.error("登记人和复核人不能是同一人，请由另一名财务人员复核。")
    entry = kind.post(row, checker)
    kind.machine.fire(row, "approve", checker, authorised=True)
    row.approved_by_id, row.approved_at = checker.id, clock.now()
    row.journal_entry_id = entry.id
    db.session.flush()
    record(f"{kind.obj_type}.approve",
           f"复核通过{kind.name} {row.bank_ref}，{format_yuan(row.amount)} 元{kind.payee(row)}",
           obj_type=kind.obj_type, obj_id=row.id, actor=kind.audit_actor(checker))
    if kind.after_approve is not None:
        kind.after_approve(row, checker)
    return row
