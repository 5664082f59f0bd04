"""Where notifications go beyond the platform: e-mail and SMS, each behind a small interface.

Backends are chosen by configuration (``config.py``):

* ``MAIL_BACKEND``: ``console`` (default: the message is written to the log), ``smtp`` (``smtplib`` with
  ``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_USE_TLS``, ``MAIL_USE_SSL``,
  ``MAIL_FROM``), ``memory`` (tests: an ``outbox`` list) or ``"package.module:Class"``.
* ``SMS_BACKEND``: ``log`` (default), ``memory`` or ``"package.module:Class"`` — a gateway's client is a
  class with ``send(mobile, text)`` (constructed with the app's config), plugged in by its path.

A backend raises on failure (any exception): the delivery is counted as an attempt, the error recorded, and
retried by the next sweeper pass (see :mod:`exchange.notifications.services`).  Backends are built once per
application and kept in ``app.extensions``.
"""
from __future__ import annotations

import importlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Mapping

from flask import current_app

log = logging.getLogger(__name__)


class ChannelError(Exception):
    """A backend that cannot be built from its configuration."""


# --- e-mail ---------------------------------------------------------------------------------------------

class EmailBackend:
    """Sends one plain-text e-mail; raises when it could not be handed over."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config

    def send(self, to: str, subject: str, body: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleEmailBackend(EmailBackend):
    """Writes the message to the log (the default: nothing leaves the machine)."""

    def send(self, to: str, subject: str, body: str) -> None:
        log.info("e-mail to %s: %s\n%s", to, subject, body)


class SmtpEmailBackend(EmailBackend):
    """An SMTP server (the county's mail relay): STARTTLS or implicit TLS, login when a user is set."""

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        msg = EmailMessage()
        sender = self.config.get("MAIL_FROM") or "noreply@localhost"
        msg["From"] = formataddr(("临湘市农村产权流转交易平台", sender))
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        msg.set_content(body, charset="utf-8")
        return msg

    def send(self, to: str, subject: str, body: str) -> None:
        cfg = self.config
        host, port = cfg.get("MAIL_SERVER") or "localhost", int(cfg.get("MAIL_PORT") or 25)
        timeout = float(cfg.get("MAIL_TIMEOUT") or 20)
        if cfg.get("MAIL_USE_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            smtp.send_message(self.message(to, subject, body))


class MemoryEmailBackend(EmailBackend):
    """Keeps what was sent in ``outbox`` (tests, demos)."""

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        self.outbox: list[dict] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.outbox.append({"to": to, "subject": subject, "body": body})


# --- SMS ------------------------------------------------------------------------------------------------

class SmsBackend:
    """Sends one short text to a mainland mobile number; raises when the gateway refused it."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config

    def send(self, mobile: str, text: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class LogSmsBackend(SmsBackend):
    """Writes the text to the log (the default, until a gateway is contracted)."""

    def send(self, mobile: str, text: str) -> None:
        from exchange.notifications.services import masked
        log.info("SMS to %s: %s", masked("sms", mobile), text)  # the log is no place for full phone numbers


class MemorySmsBackend(SmsBackend):
    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        self.outbox: list[dict] = []

    def send(self, mobile: str, text: str) -> None:
        self.outbox.append({"to": mobile, "text": text})


EMAIL_BACKENDS = {"console": ConsoleEmailBackend, "smtp": SmtpEmailBackend, "memory": MemoryEmailBackend}
SMS_BACKENDS = {"log": LogSmsBackend, "memory": MemorySmsBackend}


def _load(spec: str, builtin: dict, setting: str):
    spec = (spec or "").strip()
    if spec in builtin:
        return builtin[spec]
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ChannelError(f"{setting} 应为 {' / '.join(builtin)} 或 “模块:类名”，而不是 {spec!r}。")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ChannelError(f"{setting}：找不到 {spec}（{exc}）。") from None
    if not (isinstance(cls, type) and callable(getattr(cls, "send", None))):
        raise ChannelError(f"{setting}：{spec} 不是带 send 方法的类。")
    return cls


def _backend(kind: str, setting: str, default: str, builtin: dict):
    app = current_app._get_current_object()
    spec = app.config.get(setting) or default
    cache = app.extensions.setdefault("notification_backends", {})
    key = (kind, spec)
    if key not in cache:
        cache[key] = _load(spec, builtin, setting)(app.config)
    return cache[key]


def email_backend() -> EmailBackend:
    return _backend("email", "MAIL_BACKEND", "console", EMAIL_BACKENDS)


def sms_backend() -> SmsBackend:
    return _backend("sms", "SMS_BACKEND", "log", SMS_BACKENDS)


def backend_for(channel: str):
    if channel == "email":
        return email_backend()
    if channel == "sms":
        return sms_backend()
    raise ChannelError(f"未知的通知渠道：{channel}")
