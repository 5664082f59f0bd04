"""Confirming money from a bank receipt (回单): the checks a deposit and a price balance share.

Finance types the bank serial, the amount and when it arrived, and uploads the receipt.  The serial is an
idempotency key (the same receipt twice books once; used for another payment it is refused), the amount is
parsed strictly, the arrival cannot be in the future, the domain's own rule (``problem``) decides whether
the money can be booked, and only then is the receipt stored and ``book`` called; a receipt stored for a
booking refused at the last moment (booked meanwhile by someone else) is removed again.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy import select

from exchange import clock
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.ledger.models import JournalEntry
from exchange.money import to_money

T = TypeVar("T")


def book_from_receipt(error: type[ServiceError], *, key_prefix: str, source_key: str, amount, arrived_at,
                      receipt, receipt_filename: str | None, same_arrival: Callable[[JournalEntry], bool],
                      problem: Callable, book: Callable[..., T]) -> T | None:
    """``book(amount, key, source_key, arrived, stored)`` once the receipt checks out; None when this very
    receipt was booked before (``same_arrival`` says so); ``error`` for anything refused."""
    source_key = (source_key or "").strip()
    if not source_key or len(source_key) > 100:
        raise error("请填写银行回单号或流水号。", field="source_key")
    key = f"{key_prefix}:{source_key}"
    existing = db.session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == key))
    if existing is not None:
        if same_arrival(existing):
            return None  # the same arrival confirmed twice: once is enough
        raise error("该银行流水已入账，不能重复使用。", field="source_key")
    arrived = clock.ensure_aware(arrived_at) if arrived_at else clock.now()
    if arrived > clock.now():
        raise error("到账时间不能晚于现在。", field="arrived_at")
    try:
        paid = to_money(amount, strict=True)
    except (ValueError, TypeError) as exc:
        raise error(f"到账金额：{exc}", field="amount") from None
    refused = problem(paid, arrived)
    if refused is not None:
        raise refused
    if receipt is None:
        raise error("请上传银行回单（PDF、JPG 或 PNG）。", field="receipt")
    from exchange.uploads import UploadError, accept_upload
    try:
        stored = accept_upload(receipt, receipt_filename)
    except UploadError as exc:
        raise error(f"银行回单：{exc}", field="receipt") from None
    try:
        return book(paid, key, source_key, arrived, stored)
    except error:
        from exchange.storage import get_storage
        get_storage().delete(stored.key)  # refused after all (e.g. booked by someone else meanwhile)
        raise
