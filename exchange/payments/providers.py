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


_BUILT_IN = {"sandbox": SandboxProvider}
# deployments where the sandbox may play the bank; anywhere else a buyer could mark their own deposit paid
SANDBOX_ENVIRONMENTS = ("development", "test", "demo", "training")
ENVIRONMENTS = SANDBOX_ENVIRONMENTS + ("production",)


class ConfigurationError(RuntimeError):
    """The payment configuration cannot run in this deployment (the application refuses to start)."""


def _configured_names(config) -> list[str]:
    return [p.strip() for p in str(config.get("PAYMENT_PROVIDERS", "") or "").split(",") if p.strip()]


def _load(spec: str) -> type:
    """``sandbox`` or ``package.module:Class`` (a bank's adapter with ``name``, ``label``, ``checkout_url`` and
    ``verify``, as :class:`PaymentProvider`)."""
    if spec in _BUILT_IN:
        return _BUILT_IN[spec]
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ConfigurationError(f"PAYMENT_PROVIDERS 中的 {spec!r} 既不是内置渠道（sandbox），也不是 模块:类 的写法。")
    import importlib
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"无法加载支付渠道 {spec!r}：{exc}") from exc
    for attr in ("name", "label", "checkout_url", "verify"):
        if not hasattr(cls, attr):
            raise ConfigurationError(f"支付渠道 {spec!r} 缺少 {attr}。")
    return cls


def environment(config) -> str:
    return str(config.get("EXCHANGE_ENV") or "development").strip().lower()


def check_configuration(app) -> None:
    """Run at start-up: the deployment's environment is known and its providers load; the sandbox bank (which lets
    a buyer mark a deposit paid) is refused outside development, tests, the demo and 演练模式 (``TRAINING_MODE``)."""
    env = environment(app.config)
    if env not in ENVIRONMENTS:
        raise ConfigurationError(f"EXCHANGE_ENV={env!r} 无效，应为 {'、'.join(ENVIRONMENTS)} 之一。")
    classes = {}
    for spec in _configured_names(app.config):
        cls = _load(spec)
        if cls is SandboxProvider and env not in SANDBOX_ENVIRONMENTS and not app.config.get("TRAINING_MODE"):
            raise ConfigurationError(
                "生产环境（EXCHANGE_ENV=production）不能启用模拟网银（PAYMENT_PROVIDERS 含 sandbox）："
                "它允许买受人自行把保证金标记为已到账。请配置银行的支付渠道（PAYMENT_PROVIDERS=模块:类），"
                "或不配置在线支付（保证金以银行转账到账、导入对账单确认）。")
        classes[cls.name] = cls
    app.extensions["payment_providers"] = classes


def _classes() -> dict[str, type]:
    classes = current_app.extensions.get("payment_providers")
    if classes is None:  # an application built without create_app's check (should not happen): check now
        check_configuration(current_app)
        classes = current_app.extensions["payment_providers"]
    return classes


def sandbox_allowed() -> bool:
    return "sandbox" in _classes()


def get_provider(name: str) -> PaymentProvider:
    cls = _classes().get(name)
    if cls is None:
        raise NotificationRefused("unknown_provider", "未启用该支付渠道。")
    return cls()


def enabled_providers() -> list[PaymentProvider]:
    return [cls() for cls in _classes().values()]
