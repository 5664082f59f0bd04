"""Online payments, provider callbacks and bank statement import over the API."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exchange.access import AccessDenied, can, require
from exchange.api.common import API_PREFIX, ApiError, Exact, File, make_blueprint, not_found, perform, require_login
from exchange.api.common import authorise, found
from exchange.extensions import db
from exchange.payments import services as psvc
from exchange.payments import statements as ssvc
from exchange.payments.models import BankStatement, PaymentOrder, StatementLine
from exchange.registrations.models import Registration

blp = make_blueprint("api_payments", "", "网上支付、支付回调与银行流水对账")
# The provider calls back without a session or token: its notification's signature is the credential.
callbacks = Blueprint("api_payment_callbacks", __name__, url_prefix=API_PREFIX + "/payments/callback",
                      description="支付渠道的到账通知（由支付渠道调用，以签名验证）")


class OrderSchema(Schema):
    order_no = fields.String()
    registration_id = fields.Integer(allow_none=True)
    settlement_id = fields.Integer(allow_none=True)
    provider = fields.String()
    amount = Exact()
    state = fields.String()
    state_label = fields.String()
    expires_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    outcome = fields.String()
    checkout_url = fields.Function(lambda o: psvc.checkout_url(o) if o.state == "created" else None,
                                   metadata={"description": "去支付渠道付款的地址（待支付时）"})


class StartPaymentSchema(Schema):
    provider = fields.String(load_default="sandbox", metadata={"description": "支付渠道，默认 sandbox（模拟网银）"})


class CallbackResultSchema(Schema):
    result = fields.String(metadata={"description": "booked / duplicate / suspense / failed"})
    message = fields.String()


class LineSchema(Schema):
    id = fields.Integer()
    line_no = fields.Integer()
    bank_txn_id = fields.String()
    arrived_at = fields.DateTime()
    amount = Exact()
    payer_name = fields.String()
    payer_account = fields.String()
    memo = fields.String()
    payment_ref = fields.String(allow_none=True)
    registration_id = fields.Integer(allow_none=True)
    match = fields.String(metadata={"description": "matched / partial / excess / late / duplicate / already_paid / "
                                                   "not_payable / unknown / outgoing"})
    match_label = fields.String()
    match_note = fields.String()
    state = fields.String(metadata={"description": "open / booked / suspense / ignored"})
    decision_note = fields.String()
    allowed_decisions = fields.Function(lambda line: ssvc.allowed_decisions(line))


class StatementSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    sha256 = fields.String()
    file_format = fields.String()
    line_count = fields.Integer()
    imported_at = fields.DateTime()
    summary = fields.Function(lambda s: ssvc.summary(s))
    lines = fields.List(fields.Nested(LineSchema))


class StatementBriefSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    line_count = fields.Integer()
    imported_at = fields.DateTime()


class StatementUploadSchema(Schema):
    file = File(required=True, metadata={"description": "银行导出的流水（CSV 或 XLSX）"})


class LineDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(list(ssvc.DECISIONS)))
    note = fields.String(load_default="", validate=validate.Length(max=300))


class BookMatchedSchema(Schema):
    booked = fields.Integer()
    problems = fields.List(fields.String())


@blp.route("/registrations/<int:reg_id>/payments", methods=["POST"])
@authorise(psvc.authorise_online_payment, found(Registration, "报名"))
@blp.arguments(StartPaymentSchema)
@blp.response(201, OrderSchema)
def start_payment(args, reg_id):
    """网上支付保证金：生成支付订单，返回去支付渠道付款的地址（本人报名、资格已确认、截止前）"""
    user = require_login()
    reg = db.session.get(Registration, reg_id)
    if reg is None:
        raise not_found("报名")
    return perform(psvc.start_online_payment, user, reg, args["provider"])


@blp.route("/payments/orders/<order_no>")
@blp.response(200, OrderSchema)
def get_order(order_no):
    """支付订单（本人或中心财务、监管可查）"""
    user = require_login()
    order = db.session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == order_no))
    if order is None:
        raise not_found("支付订单")
    if psvc.order_owner_id(order) != user.id and not can(user, "ledger.view"):
        raise AccessDenied("您没有权限查看该支付订单。")
    return order


@callbacks.route("/<provider>", methods=["POST"])
@callbacks.response(200, CallbackResultSchema)
def provider_callback(provider):
    """支付渠道的到账通知：签名、时间戳（5 分钟内）、随机串（只用一次）均验证通过才处理；同一交易只入账一次"""
    result = psvc.receive_notification(provider[:20], request.get_data(cache=False, as_text=False)[:65536],
                                       request.headers, request.remote_addr or "")
    db.session.commit()  # the notification is logged whatever the outcome
    if result.status != 200:
        raise ApiError(result.status, result.error or "refused", result.message)
    return {"result": result.outcome, "message": result.message}


@blp.route("/statements", methods=["POST"])
@authorise("statements.import")
@blp.arguments(StatementUploadSchema, location="multipart")
@blp.response(201, StatementSchema)
def import_statement(args, **_):
    """导入银行流水（multipart/form-data：file），逐笔比对缴款码、金额和到账时间"""
    user = require_login()
    upload = args.get("file")
    if upload is None:
        raise ApiError(400, "invalid", "请选择银行流水文件。", fields={"file": ["必填项"]})
    return perform(ssvc.import_statement, user, upload.read(ssvc.MAX_BYTES + 1), upload.filename or "流水")


@blp.route("/statements")
@blp.response(200, StatementBriefSchema(many=True))
def list_statements():
    """已导入的银行流水"""
    require(require_login(), "ledger.view")
    return db.session.scalars(select(BankStatement).order_by(BankStatement.id.desc()).limit(200)).all()


@blp.route("/statements/<int:stmt_id>")
@blp.response(200, StatementSchema)
def get_statement(stmt_id):
    """一份流水及其逐笔比对结果"""
    require(require_login(), "ledger.view")
    stmt = db.session.get(BankStatement, stmt_id)
    if stmt is None:
        raise not_found("银行流水")
    return stmt


@blp.route("/statements/<int:stmt_id>/book-matched", methods=["POST"])
@blp.response(200, BookMatchedSchema)
def book_matched(stmt_id):
    """确认入账全部与缴款码一致的流水"""
    user = require_login()
    stmt = db.session.get(BankStatement, stmt_id)
    if stmt is None:
        raise not_found("银行流水")
    booked, problems = perform(ssvc.book_all_matched, user, stmt)
    return {"booked": booked, "problems": problems}


@blp.route("/statement-lines/<int:line_id>/decision", methods=["POST"])
@authorise("statements.import")
@blp.arguments(LineDecisionSchema)
@blp.response(200, LineSchema)
def decide(args, line_id):
    """处理一笔流水：book 入账 / book_excess 按应交入账、超出退回 / suspense 挂账退回 / ignore 忽略（仅重复或支出）"""
    user = require_login()
    line = db.session.get(StatementLine, line_id)
    if line is None:
        raise not_found("流水")
    return perform(ssvc.decide, user, line, args["decision"], args["note"])
