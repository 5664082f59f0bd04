"""Payment providers behind one small interface (DESIGN §3.5).

A provider takes the buyer to its checkout page for a :class:`~exchange.payments.models.PaymentOrder` and
later tells the platform, in a signed notification, that the money has (or has not) arrived.  The
platform never trusts a notification it cannot verify.  A bank's real API is a new class with the same
three methods, named in ``PAYMENT_PROVIDERS``; nothing else changes.

:class:`SandboxProvider` plays the bank for the demo, training and tests: its checkout is a page of this
application (``/payments/sandbox/<order_no>``) and its notifications are signed with HMAC-SHA256 over
``timestamp.nonce.body`` with a secret shared with the platform, exactly as a real provider's would be.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

from flask import current_app, url_for

from exchange import clock
from exchange.errors import ServiceError
from exchange.inputs import parse_money

MAX_SKEW_SECONDS = 300  # a notification older (or newer) than this is refused: a captured one cannot be replayed later


class NotificationRefused(ServiceError):
    """A notification that is not verifiably from the provider, or not well formed."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Notification:
    """What a verified provider notification says."""

    nonce: str
    order_no: str
    txn_id: str          # the provider's transaction id
    amount: Decimal
    status: str          # SUCCESS / FAILED
    paid_at: datetime    # when the money reached the designated account


class PaymentProvider(Protocol):
    name: str
    label: str

    def checkout_url(self, order) -> str:
        """Where the buyer goes to pay ``order``."""
        ...

    def verify(self, body: bytes, headers) -> Notification:
        """The notification's content if its signature and timestamp verify, else NotificationRefused."""
        ...


class SandboxProvider:
    name = "sandbox"
    label = "模拟网银（演示与测试）"
    SIG_HEADER, TS_HEADER, NONCE_HEADER = "X-Sandbox-Signature", "X-Sandbox-Timestamp", "X-Sandbox-Nonce"

    def _secret(self) -> bytes:
        configured = current_app.config.get("PAYMENT_SANDBOX_SECRET")
        if configured:
            return configured.encode()
        return hmac.new(str(current_app.config["SECRET_KEY"]).encode(), b"sandbox-payment-provider",
                        hashlib.sha256).digest()

    def checkout_url(self, order) -> str:
        return url_for("payments.sandbox_bank", order_no=order.order_no)

    def sign(self, body: bytes, timestamp: str, nonce: str) -> str:
        return hmac.new(self._secret(), f"{timestamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()

    def notification_for(self, order, *, status: str = "SUCCESS", amount: Decimal | None = None,
                         paid_at: datetime | None = None, txn_id: str | None = None) -> tuple[bytes, dict]:
        """What the sandbox bank sends when ``order`` is paid: the body and its signed headers."""
        body = json.dumps({
            "order_no": order.order_no,
            "txn_id": txn_id or "SBX" + secrets.token_hex(8).upper(),
            "amount": str(amount if amount is not None else order.amount),
            "status": status,
            "paid_at": (paid_at or clock.now()).isoformat(),
        }, ensure_ascii=False, sort_keys=True).encode()
        ts, nonce = str(int(clock.now().timestamp())), secrets.token_hex(16)
        return body, {self.TS_HEADER: ts, self.NONCE_HEADER: nonce, self.SIG_HEADER: self.sign(body, ts, nonce)}

    def verify(self, body: bytes, headers) -> Notification:
        sig, ts, nonce = (headers.get(h, "") for h in (self.SIG_HEADER, self.TS_HEADER, self.NONCE_HEADER))
        if not (sig and ts and nonce) or len(nonce) > 64 or len(sig) > 128:
            raise NotificationRefused("unsigned", "通知缺少签名、时间戳或随机串。")
        if not hmac.compare_digest(self.sign(body, ts, nonce), sig):
            raise NotificationRefused("bad_signature", "通知签名无效，已拒绝。")
        try:
            sent = int(ts)
        except ValueError:
            raise NotificationRefused("bad_timestamp", "通知时间戳格式不正确。") from None
        if abs(clock.now().timestamp() - sent) > MAX_SKEW_SECONDS:
            raise NotificationRefused("stale", "通知已过期（时间戳与当前时间相差超过 5 分钟），疑似重放，已拒绝。")
        try:
            data = json.loads(body)
            # the one money parser: finite, within Numeric(16, 2), whole 分 ("Infinity", "1E+30", "0.001" refused)
            amount = parse_money(str(data["amount"]), field="amount", strict=True)
            paid_at = clock.ensure_aware(datetime.fromisoformat(data["paid_at"]))
            note = Notification(nonce=nonce, order_no=str(data["order_no"])[:32], txn_id=str(data["txn_id"])[:64],
                                amount=amount, status=str(data["status"]), paid_at=paid_at)
        except (ValueError, KeyError, TypeError, InvalidOperation, RecursionError):
            raise NotificationRefused("malformed", "通知内容格式不正确。") from None
        if note.status not in ("SUCCESS", "FAILED") or not note.txn_id:
            raise NotificationRefused("malformed", "通知内容格式不正确。")
        return note


_PROVIDERS = {"sandbox": SandboxProvider}


def get_provider(name: str) -> PaymentProvider:
    enabled = [p.strip() for p in str(current_app.config.get("PAYMENT_PROVIDERS", "sandbox")).split(",") if p.strip()]
    if name not in enabled or name not in _PROVIDERS:
        raise NotificationRefused("unknown_provider", "未启用该支付渠道。")
    return _PROVIDERS[name]()


def enabled_providers() -> list[PaymentProvider]:
    names = [p.strip() for p in str(current_app.config.get("PAYMENT_PROVIDERS", "sandbox")).split(",") if p.strip()]
    return [_PROVIDERS[n]() for n in names if n in _PROVIDERS]
