"""Deposits arriving (第十九条): the one place the three ways in — an online payment, a bank receipt confirmed by
finance, a statement line — book a buyer's deposit: the ledger entry, the registration paid with its 竞买号, and
the record of how the money came.  In ``payments``, after ``registrations`` and ``ledger`` in the dependency order
(DESIGN §4.1): the registration's rules (:func:`~exchange.registrations.services.payable_problem`) are asked, the
books are posted."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from exchange.access import require
from exchange.audit.services import record
from exchange.extensions import db
from exchange.ledger import services as ledger
from exchange.money import format_yuan
from exchange.payments.models import DepositArrival
from exchange.payments.receipts import book_from_receipt
from exchange.registrations.models import Registration
from exchange.registrations.states import REGISTRATION
from exchange.registrations.services import RegistrationError, new_bidder_no, payable_problem


def book_deposit(reg: Registration, amount: Decimal, *, source: str, source_ref: str, key: str,
                 arrived_at: datetime, actor=None, receipt=None, statement_line=None, order=None,
                 memo: str = "") -> Registration:
    """Book a deposit that has arrived: the one place all three ways in (online payment, bank receipt,
    statement line) end.  The caller has authorised the actor; the rules are checked here, under a
    lock on the registration row so two arrivals for one registration book it once.
    """
    db.session.refresh(reg, with_for_update=True)
    problem = payable_problem(reg, amount, arrived_at)
    if problem is not None:
        raise problem
    entry = ledger.record_deposit(reg.listing, reg.buyer, amount, key=key, actor=actor,
                                  memo=memo or f"保证金到账 {reg.payment_ref} {reg.buyer.display_name}")
    REGISTRATION.fire(reg, "pay", actor, authorised=True)
    reg.paid_at = arrived_at
    reg.bidder_no = new_bidder_no(reg.listing_id)
    arrival = DepositArrival(registration_id=reg.id, source=source, source_ref=source_ref[:100], amount=amount,
                             arrived_at=arrived_at, journal_entry_id=entry.id, recorded_by_id=getattr(actor, "id", None),
                             statement_line_id=getattr(statement_line, "id", None),
                             payment_order_id=getattr(order, "id", None))
    if receipt is not None:
        arrival.receipt_key, arrival.receipt_filename = receipt.key, receipt.filename
        arrival.receipt_content_type, arrival.receipt_sha256 = receipt.content_type, receipt.sha256
    db.session.add(arrival)
    db.session.flush()
    # no 竞买号 in the audit summary: the audit viewer is read by staff who must not learn it before the bidding ends
    record("registration.deposit_paid", f"保证金到账：{reg.payment_ref}，{format_yuan(amount)} 元",
           obj_type="registration", obj_id=reg.id, after={"source": source, "ref": source_ref, "arrived_at": arrived_at})
    return reg


def confirm_deposit(actor, reg: Registration, amount, *, source_key: str, receipt=None,
                    receipt_filename: str | None = None, arrived_at: datetime | None = None,
                    memo: str = "") -> Registration:
    """Finance confirms an arrival from the bank receipt (回单), which is uploaded and kept.

    The money must *arrive* by the deadline (第十九条(一)); the amount must be exact.  Anything else is
    refused here and left to finance to handle as an exception, never guessed.
    """
    require(actor, "deposits.confirm")
    booked = book_from_receipt(
        RegistrationError, key_prefix="deposit", source_key=source_key, amount=amount, arrived_at=arrived_at,
        receipt=receipt, receipt_filename=receipt_filename,
        same_arrival=lambda entry: reg.state == "paid" and entry.listing_id == reg.listing_id,
        problem=lambda paid, arrived: payable_problem(reg, paid, arrived),
        book=lambda paid, key, ref, arrived, stored: book_deposit(reg, paid, source="receipt", source_ref=ref, key=key,
                                                                  arrived_at=arrived, actor=actor, receipt=stored,
                                                                  memo=memo))
    return booked or reg
