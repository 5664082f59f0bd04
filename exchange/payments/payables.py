"""Money owed to the exchange by a later stage, which payments receives without importing that stage.

Payments books deposits itself (registrations come before it).  A later stage that is paid through the same
ways in — an online order, a line of a bank statement — declares its payable here at import time: how its
缴款码 reads, how to find the row it pays, what is due and why an amount cannot be booked, and how to book it.
Settlement declares the price balance (JS…); payments asks this registry, never ``exchange.settlement``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable


@dataclass(frozen=True)
class Payable:
    kind: str                                   # the column that points at it: ``<kind>_id`` on orders and lines
    what: str                                   # what the payer pays, for messages: 价款
    ref_pattern: re.Pattern                      # its 缴款码 in a statement memo
    load: Callable[[int], Any]                  # id → row (or None)
    find: Callable[[str], Any]                  # 缴款码 → row (or None)
    problem: Callable[[Any, Decimal], Any]      # row, amount → the refusal it would raise (``code``, ``message``) or None
    book: Callable[..., Any]                    # row, amount, *, source, source_ref, key, arrived_at, actor, memo
    not_payable: type[Exception]                # what ``book`` raises when the amount cannot be booked
    page: str                                   # the endpoint of the row's page (one ``<kind>_id`` argument)
    amount_due: Callable[[Any], Decimal]
    payer: Callable[[Any], Any]                 # the account that owes it
    listing: Callable[[Any], Any]
    payment_ref: Callable[[Any], str]
    due_at: Callable[[Any], Any]
    open: Callable[[Any], bool]                 # still waiting for its money


_PAYABLES: dict[str, Payable] = {}


def declare(payable: Payable) -> None:
    """Called by the paying stage when it is imported (the app imports every stage at start)."""
    _PAYABLES[payable.kind] = payable


def get(kind: str) -> Payable:
    try:
        return _PAYABLES[kind]
    except KeyError:
        raise LookupError(f"no payable '{kind}' declared: is its package imported?") from None


def all_payables() -> list[Payable]:
    return list(_PAYABLES.values())
