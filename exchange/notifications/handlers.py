"""The sweeper's notification handlers (``HANDLERS`` in :mod:`exchange.deadlines.sweeper`): reminders from stored
due timestamps, each sent once per person, and the delivery of pending e-mails and SMS after commit.  When and to
whom: :mod:`exchange.notifications.reminders`; sending: :mod:`exchange.notifications.delivery`."""
from __future__ import annotations

from exchange.deadlines.handlers import ItemHandler


def _rem():
    from exchange.notifications import reminders
    return reminders


def _out():
    from exchange.notifications import delivery
    return delivery


DEPOSIT_DUE = ItemHandler(lambda now: _rem().deposit_due_ids(now), lambda i, now: _rem().remind_deposit(i, now),
                          "提醒交纳保证金")
BIDDING_STARTS = ItemHandler(lambda now: _rem().bidding_starts_ids(now), lambda i, now: _rem().remind_bidding(i, now),
                             "提醒竞价即将开始")
CONTRACT_DUE = ItemHandler(lambda now: _rem().contract_due_ids(now), lambda i, now: _rem().remind_contract(i, now),
                           "提醒签订合同")
SETTLEMENT_DUE = ItemHandler(lambda now: _rem().settlement_due_ids(now),
                             lambda i, now: _rem().remind_settlement(i, now), "提醒交付价款")
CERTIFICATE_DUE = ItemHandler(lambda now: _rem().certificate_due_ids(now),
                              lambda i, now: _rem().remind_certificate(i, now), "提醒出具鉴证书")
DELIVER = ItemHandler(lambda now: _out().pending_delivery_ids(now), lambda i, now: _out().deliver(i, now),
                      "发送短信和邮件")
