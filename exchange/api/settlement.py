"""资金结算, 划付 and the fee table over the API (the same services as the pages)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exchange.access import require
from exchange.api.common import Exact, File, Id, Moment, Money, make_blueprint, not_found, perform, require_login
from exchange.api.common import authorise
from exchange.extensions import db
from exchange.payments import services as psvc
from exchange.settlement import services as stl
from exchange.settlement.models import FEE_PAYERS, FeeRule, Payout, Settlement

blp = make_blueprint("api_settlement", "", "资金结算、划付与收费标准")


class PayoutSchema(Schema):
    id = fields.Integer()
    settlement_id = fields.Integer()
    amount = Exact()
    payee_name = fields.String()
    payee_bank = fields.String()
    payee_account = fields.String(metadata={"description": "受让方看到的账号只显示末 4 位"})
    state = fields.String(metadata={"description": "pending / recorded / approved"})
    bank_ref = fields.String()
    recorded_by_id = fields.Integer(allow_none=True)
    recorded_at = fields.DateTime(allow_none=True)
    approved_by_id = fields.Integer(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)


class SettlementSchema(Schema):
    id = fields.Integer()
    deal_id = fields.Integer()
    listing_id = fields.Integer()
    project_no = fields.Function(lambda s: s.listing.project_no)
    state = fields.String(metadata={"description": "awaiting / paid / settled"})
    state_label = fields.String()
    price = Exact()
    deposit_converted = Exact()
    balance_due = Exact()
    buyer_fee = Exact()
    seller_fee = Exact()
    amount_to_pay = Exact(metadata={"description": "受让方应付：价款余额 + 受让方服务费"})
    payment_ref = fields.String(metadata={"description": "价款缴款码（转账附言须填写）"})
    due_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    source = fields.String()
    settled_at = fields.DateTime(allow_none=True)
    certificate_due_at = fields.DateTime(allow_none=True)
    payout = fields.Method("_payout", metadata={"description": "划付（生成后）"})

    def _payout(self, s):
        from flask_login import current_user
        payout = stl.payout_of(s)
        if payout is None:
            return None
        data = PayoutSchema().dump(payout)
        if not (stl.is_staff_viewer(current_user) or s.listing.transferor_user_id == current_user.id):
            data["payee_account"] = stl.mask_account(payout.payee_account)
        return data


class PricePaymentSchema(Schema):
    provider = fields.String(load_default="sandbox", metadata={"description": "支付渠道，默认 sandbox（模拟网银）"})


class PriceOrderSchema(Schema):
    order_no = fields.String()
    settlement_id = fields.Integer()
    provider = fields.String()
    amount = Exact()
    state = fields.String()
    expires_at = fields.DateTime()
    checkout_url = fields.Function(lambda o: psvc.checkout_url(o) if o.state == "created" else None)


class ReceiptSchema(Schema):
    amount = fields.String(required=True, metadata={"description": "到账金额（元）"})
    source_key = fields.String(required=True, validate=validate.Length(min=1, max=100),
                               metadata={"description": "银行回单号或流水号"})
    arrived_at = Moment(load_default=None, metadata={"description": "到账时间（ISO 8601，默认现在）"})
    receipt = File(required=True, metadata={"description": "银行回单（PDF、JPG 或 PNG，必传）"})


class TransferSchema(Schema):
    bank_ref = fields.String(required=True, validate=validate.Length(min=1, max=100))


class FeeRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    category_id = Id(allow_none=True, metadata={"description": "交易品种；null 为默认标准"})
    basis = fields.String(required=True, validate=validate.OneOf(["rate", "fixed"]))
    rate = Exact(places=None, allow_none=True, load_default=None, metadata={"description": "0 ≤ 费率 < 1"})
    fixed_amount = Money(allow_none=True, load_default=None, minimum=0)
    min_fee = Money(allow_none=True, load_default=None, minimum=0)
    max_fee = Money(allow_none=True, load_default=None, minimum=0)
    payer = fields.String(required=True, validate=validate.OneOf(list(FEE_PAYERS)))
    active = fields.Boolean(load_default=True)
    note = fields.String(load_default="", validate=validate.Length(max=200))
    updated_at = fields.DateTime(dump_only=True)


def _settlement(settlement_id: int, user) -> Settlement:
    s = db.session.get(Settlement, settlement_id)
    if s is None or not stl.can_view(user, s):  # 404 for others too: no probing of ids
        raise not_found("结算")
    return s


@blp.route("/settlements/<int:settlement_id>")
@blp.response(200, SettlementSchema)
def get_settlement(settlement_id):
    """一项结算（受让方、转让方本人或中心财务可查；受让方看到的收款账号只显示末 4 位）"""
    user = require_login()
    return _settlement(settlement_id, user)


@blp.route("/settlements/<int:settlement_id>/pay", methods=["POST"])
@authorise(psvc.authorise_price_payment, lambda settlement_id: _settlement(settlement_id, require_login()))
@blp.arguments(PricePaymentSchema)
@blp.response(201, PriceOrderSchema)
def pay(args, settlement_id):
    """网上支付价款：生成支付订单（受让方本人，待付价款时）"""
    user = require_login()
    return perform(psvc.start_price_payment, user, _settlement(settlement_id, user), args["provider"])


@blp.route("/settlements/<int:settlement_id>/receipt", methods=["POST"])
@authorise("settlement.manage")
@blp.arguments(ReceiptSchema, location="multipart")
@blp.response(200, SettlementSchema)
def receipt(args, settlement_id):
    """凭银行回单确认价款到账（财务；multipart/form-data：amount、source_key、arrived_at、receipt）"""
    user = require_login()
    require(user, "settlement.manage")
    s = _settlement(settlement_id, user)
    upload = args.get("receipt")
    perform(stl.confirm_receipt, user, s, args["amount"], source_key=args["source_key"], receipt=upload,
            receipt_filename=getattr(upload, "filename", None), arrived_at=args["arrived_at"])
    return s


@blp.route("/settlements/<int:settlement_id>/charge-fees", methods=["POST"])
@blp.response(200, SettlementSchema)
def charge_fees(settlement_id):
    """收取服务费并生成划付（财务，价款到账后）"""
    user = require_login()
    require(user, "settlement.manage")
    s = _settlement(settlement_id, user)
    perform(stl.charge_fees, user, s)
    return s


def _payout(payout_id: int, user) -> Payout:
    require(user, "settlement.manage")
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        raise not_found("划付")
    return payout


@blp.route("/payouts/<int:payout_id>/transfer", methods=["POST"])
@authorise("settlement.manage")
@blp.arguments(TransferSchema)
@blp.response(200, PayoutSchema)
def transfer(args, payout_id):
    """登记划付转账的银行回单号（财务，登记人）"""
    user = require_login()
    return perform(stl.record_transfer, user, _payout(payout_id, user), args["bank_ref"])


@blp.route("/payouts/<int:payout_id>/approve", methods=["POST"])
@blp.response(200, PayoutSchema)
def approve(payout_id):
    """复核划付（另一名财务人员）：划付入账、结算完成、项目进入鉴证"""
    user = require_login()
    return perform(stl.approve, user, _payout(payout_id, user))


@blp.route("/fees")
@blp.response(200, FeeRuleSchema(many=True))
def list_fees():
    """收费标准（管理员）"""
    require(require_login(), "fees.manage")
    return db.session.scalars(select(FeeRule).order_by(FeeRule.category_id.is_not(None), FeeRule.category_id)).all()


@blp.route("/fees", methods=["PUT"])
@authorise("fees.manage")
@blp.arguments(FeeRuleSchema)
@blp.response(200, FeeRuleSchema)
def put_fee(args):
    """设置一个交易品种（category_id 为 null 时为默认）的收费标准（管理员）"""
    user = require_login()
    return perform(stl.save_fee_rule, user, args.get("category_id"), basis=args["basis"], rate=args.get("rate"),
                   fixed_amount=args.get("fixed_amount"), min_fee=args.get("min_fee"), max_fee=args.get("max_fee"),
                   payer=args["payer"], active=args["active"], note=args["note"])
