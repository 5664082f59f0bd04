"""Online payment orders (支付订单) and imported bank statement lines (银行流水) as state machines.

An order is created for the exact amount and is paid or fails as the provider's signed notification says (a
failed attempt may still be paid by a later notification of the same order).  A statement line is open until
finance decides it (or the import sets an outgoing line aside): booked as a deposit or a price balance, held on a
suspense account for return to the payer, or ignored."""
from __future__ import annotations

from exchange.machine import Machine, States, Transition


class OrderState(States):
    CREATED = "created", "待支付"
    PAID = "paid", "已支付"
    FAILED = "failed", "支付失败"


PAYMENT_ORDER = Machine("payment_order", OrderState, [
    # the provider's verified notification (the callback authorises itself by the signature)
    Transition("pay", "确认支付成功", frozenset({"created", "failed"}), "paid"),
    Transition("fail", "记录支付失败", frozenset({"created"}), "failed"),
], what=lambda order: f"支付订单 {order.order_no} ")


class LineState(States):
    OPEN = "open", "待处理"
    BOOKED = "booked", "已入账"
    SUSPENSE = "suspense", "挂账待退"
    IGNORED = "ignored", "已忽略"


STATEMENT_LINE = Machine("statement_line", LineState, [
    Transition("book", "确认入账", frozenset({"open"}), "booked", "statements.import"),
    Transition("hold", "挂账并退回付款人", frozenset({"open"}), "suspense", "statements.import"),
    Transition("ignore", "忽略", frozenset({"open"}), "ignored", "statements.import"),
], what=lambda line: f"银行流水 {line.bank_txn_id} ")
