"""The sweeper's notification handlers (``HANDLERS`` in :mod:`exchange.deadlines.sweeper`): reminders from stored
due timestamps, each sent once per person, and the delivery of pending e-mails and SMS after commit.  The rules
(when, to whom) are in :mod:`exchange.notifications.services`."""
from __future__ import annotations

from exchange.deadlines.handlers import ItemHandler


def _svc():
    from exchange.notifications import services
    return services


DEPOSIT_DUE = ItemHandler(lambda now: _svc().deposit_due_ids(now), lambda i, now: _svc().remind_deposit(i, now),
                          "提醒交纳保证金")
BIDDING_STARTS = ItemHandler(lambda now: _svc().bidding_starts_ids(now), lambda i, now: _svc().remind_bidding(i, now),
                             "提醒竞价即将开始")
CONTRACT_DUE = ItemHandler(lambda now: _svc().contract_due_ids(now), lambda i, now: _svc().remind_contract(i, now),
                           "提醒签订合同")
SETTLEMENT_DUE = ItemHandler(lambda now: _svc().settlement_due_ids(now),
                             lambda i, now: _svc().remind_settlement(i, now), "提醒交付价款")
CERTIFICATE_DUE = ItemHandler(lambda now: _svc().certificate_due_ids(now),
                              lambda i, now: _svc().remind_certificate(i, now), "提醒出具鉴证书")
DELIVER = ItemHandler(lambda now: _svc().pending_delivery_ids(now), lambda i, now: _svc().deliver(i, now),
                      "发送短信和邮件")
