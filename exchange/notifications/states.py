"""A notification's delivery on one channel (email, SMS) as a state machine, run by the delivery sweeper: pending
until sent, or failed after the last attempt, or skipped when the account is inactive or has no address left."""
from __future__ import annotations

from exchange.machine import Machine, States, Transition


class DeliveryStatus(States):
    PENDING = "pending", "待发送"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"
    SKIPPED = "skipped", "未发送"


DELIVERY = Machine("delivery", DeliveryStatus, [
    Transition("send", "发送", frozenset({"pending"}), "sent"),
    Transition("fail", "记录发送失败", frozenset({"pending"}), "failed"),
    Transition("skip", "不予发送", frozenset({"pending"}), "skipped"),
], column="status", what=lambda d: "该通知")
