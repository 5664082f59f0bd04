"""Pages: online payment (with the sandbox bank that plays the provider), bank statement import and
reconciliation, the log of provider notifications, and bank receipts."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.inputs import arg_page
from exchange.payments import center_account, deposits, payables
from exchange.payments import services as psvc
from exchange.payments import statements as ssvc
from exchange.pages import ActionForm, Message, run_action
from exchange.payments.forms import DecisionForm, StatementForm
from exchange.payments.models import (LINE_STATES, MATCHES, BankStatement, DepositArrival, PaymentNotification,
                                      PaymentOrder, StatementLine)
from exchange.payments.providers import enabled_providers, get_provider
from exchange.registrations import services as rsvc
from exchange.registrations.forms import DepositForm
from exchange.registrations.models import Registration

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.app_template_global("deposit_of")
def deposit_of(reg: Registration) -> SimpleNamespace:
    """What a registration's page shows of its deposit: the arrival booked, the online orders, the ways to pay."""
    from exchange.ledger.models import Refund
    from exchange.ledger.refunds import REASONS
    arrival = db.session.scalar(select(DepositArrival).where(DepositArrival.registration_id == reg.id))
    refund = db.session.scalar(select(Refund).where(Refund.registration_id == reg.id))
    return SimpleNamespace(arrival=arrival, orders=psvc.orders_for(reg), providers=enabled_providers(),
                           refund=refund, refund_reason=REASONS.get(refund.reason, refund.reason) if refund else "")


@bp.app_template_global("receiving_account")
def receiving_account(org=None):
    """The center's receiving account (户名, 开户行, 账号) above ``org`` (a listing's unit), or None while not set:
    ``templates/payments/_pay_to.html`` shows it beside the 缴款码 on every page that asks someone to pay."""
    return center_account.receiving_account(org)


# --- a deposit confirmed by finance from the bank's receipt -------------------------------------

def _arrived_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        local = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise rsvc.RegistrationError("到账时间格式应为 2026-11-30 15:20。") from None
    return local.replace(tzinfo=clock.LOCAL_TZ)


@bp.route("/registrations/<int:reg_id>/deposit", methods=["POST"])
@login_required
def confirm_deposit(reg_id: int):
    require(current_user, "deposits.confirm")  # who asks first, then which registration
    reg = db.session.get(Registration, reg_id)
    if reg is None:
        abort(404)
    form = DepositForm()
    return run_action(lambda: deposits.confirm_deposit(current_user, reg, form.amount.data,
                                                       source_key=form.source_key.data.strip(),
                                                       arrived_at=_arrived_at(form.arrived_at.data),
                                                       receipt=form.receipt.data),
                      form=form, invalid="请填写到账金额、银行回单号，并上传银行回单。",
                      done="保证金已入账，系统已把竞买号通知报名人。",  # the 竞买号 is the buyer's alone (issue 17)
                      back=url_for("registrations.detail", reg_id=reg.id))


# --- online payment ------------------------------------------------------------------------------

@bp.route("/registrations/<int:reg_id>/online", methods=["POST"])
@login_required
def pay_online(reg_id: int):
    reg = db.session.get(Registration, reg_id)
    if reg is None:
        abort(404)
    return run_action(lambda: psvc.start_online_payment(current_user, reg, request.form.get("provider", "sandbox")),
                      form=ActionForm(), done=None, then=psvc.checkout_url,  # on to the provider's checkout
                      back=url_for("registrations.detail", reg_id=reg.id))


def _sandbox_order(order_no: str) -> PaymentOrder:
    order = db.session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == order_no,
                                                         PaymentOrder.provider == "sandbox"))
    if order is None:
        abort(404)
    try:
        get_provider("sandbox")
    except ServiceError:
        abort(404)  # the sandbox is switched off in this deployment
    if psvc.order_owner_id(order) != current_user.id:
        raise AccessDenied("这不是您的支付订单。")
    return order


@bp.route("/sandbox/<order_no>", methods=["GET", "POST"])
@login_required
def sandbox_bank(order_no: str):
    """The sandbox provider's checkout: it plays the bank and sends a signed notification."""
    order = _sandbox_order(order_no)
    form = ActionForm()
    if request.method == "POST":  # the bank answers: paid or not (one notification, its status the argument)
        back = url_for("payments.sandbox_bank", order_no=order.order_no)
        if not form.validate_on_submit():
            abort(400)
        if order.state != "created":
            flash("该订单已处理，不能重复支付。", "error")
            return redirect(back)
        status = "SUCCESS" if request.form.get("action") == "pay" else "FAILED"

        def notified(result) -> Message:
            return Message(("模拟网银已付款。" if status == "SUCCESS" else "模拟网银：支付未成功。") + result.message,
                           "success" if result.outcome == "booked" else
                           ("error" if result.outcome == "refused" else "info"))

        return run_action(lambda: psvc.receive_notification(
                              "sandbox", *get_provider("sandbox").notification_for(order, status=status),
                              remote_addr="sandbox"),
                          done=notified, back=back,
                          then=lambda _: url_for("settlement.detail", settlement_id=order.settlement_id)
                          if order.settlement_id else url_for("registrations.detail", reg_id=order.registration_id))
    settlement = None
    if order.settlement_id:
        settlement = payables.get("settlement").load(order.settlement_id)
    return render_template("payments/sandbox_bank.html", order=order, form=form, now=clock.now(),
                           settlement=settlement)


# --- bank statements -----------------------------------------------------------------------------

@bp.route("/statements", methods=["GET", "POST"])
@login_required
def statements():
    require(current_user, "ledger.view")
    form = StatementForm()
    if request.method == "POST":
        require(current_user, "statements.import")

    def page(status: int = 200):
        imported = db.paginate(select(BankStatement).order_by(BankStatement.id.desc()),
                               page=arg_page(), per_page=20, error_out=False)
        open_lines = db.session.scalars(select(StatementLine).where(StatementLine.state == "open")
                                        .order_by(StatementLine.arrived_at)).all()
        return render_template("payments/statements.html", page=imported, form=form, open_lines=open_lines,
                               can_import=can(current_user, "statements.import"), matches=MATCHES), status

    def refused(exc):
        form.file.errors = list(form.file.errors) + [exc.message]
        return page(400)

    def done(stmt: BankStatement) -> str:
        counts = ssvc.summary(stmt)
        return (f"已导入 {stmt.line_count} 笔流水，其中与缴款码一致可入账的 {counts.get('matched', 0)} 笔；"
                "其余请逐笔处理。")

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    upload = form.file.data
    return run_action(lambda: ssvc.import_statement(current_user, upload.read(ssvc.MAX_BYTES + 1),
                                                    upload.filename or "流水"),
                      refused=refused, done=done, back=url_for("payments.statements"),
                      then=lambda stmt: url_for("payments.statement", stmt_id=stmt.id))


@bp.route("/statements/<int:stmt_id>")
@login_required
def statement(stmt_id: int):
    require(current_user, "ledger.view")
    stmt = db.session.get(BankStatement, stmt_id)
    if stmt is None:
        abort(404)
    return render_template("payments/statement.html", stmt=stmt, counts=ssvc.summary(stmt), form=DecisionForm(),
                           can_decide=can(current_user, "statements.import"), decisions=ssvc.DECISIONS,
                           allowed=ssvc.allowed_decisions, matches=MATCHES, states=LINE_STATES)


@bp.route("/statements/<int:stmt_id>/book-matched", methods=["POST"])
@login_required
def book_matched(stmt_id: int):
    stmt = db.session.get(BankStatement, stmt_id)
    if stmt is None:
        abort(404)
    require(current_user, "statements.import")  # who asks first, then what was sent

    def booked(result: tuple[int, list[str]]) -> Message:
        n, problems = result
        return Message(f"已入账 {n} 笔。" + ("未能入账：" + "；".join(problems) if problems else ""),
                       "success" if not problems else "error")

    return run_action(lambda: ssvc.book_all_matched(current_user, stmt), form=ActionForm(), done=booked,
                      back=url_for("payments.statement", stmt_id=stmt.id))


@bp.route("/lines/<int:line_id>/decide", methods=["POST"])
@login_required
def decide(line_id: int):
    line = db.session.get(StatementLine, line_id)
    if line is None:
        abort(404)
    require(current_user, "statements.import")  # who asks first, then what was sent
    form = DecisionForm()
    return run_action(lambda: ssvc.decide(current_user, line, form.decision.data or "", form.note.data or ""),
                      form=form, done=lambda _: f"流水 {line.bank_txn_id}：{ssvc.DECISIONS[form.decision.data]}。",
                      back=url_for("payments.statement", stmt_id=line.statement_id) + f"#line-{line.id}")


# --- notifications and receipts ------------------------------------------------------------------

@bp.route("/notifications")
@login_required
def notifications():
    require(current_user, "ledger.view")
    page = db.paginate(select(PaymentNotification).order_by(PaymentNotification.id.desc()),
                       page=arg_page(), per_page=50, error_out=False)
    return render_template("payments/notifications.html", page=page, refused=psvc.refused_counts())


@bp.route("/arrivals/<int:arrival_id>/receipt")
@login_required
def receipt(arrival_id: int):
    arrival = db.session.get(DepositArrival, arrival_id)
    if arrival is None or not arrival.receipt_key:
        abort(404)
    if not (can(current_user, "ledger.view") or arrival.registration.buyer_id == current_user.id):
        raise AccessDenied("您没有权限查看该回单。")
    from exchange.uploads import send_stored
    return send_stored(arrival.receipt_key, arrival.receipt_filename, arrival.receipt_content_type, inline=True)
