"""The ledger (台账) and refunds over the API.

Reading needs ``ledger.view`` (中心财务, and 监管 read-only); recording and approving a refund needs
``refunds.manage`` (中心财务).  The same refund services as the pages enforce maker-checker: the
approver must be a different finance user from the one who recorded the transfer."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from exchange import clock
from exchange.access import require
from exchange.api.common import Exact, PageArgs, make_blueprint, not_found, perform, require_login
from exchange.api.common import authorise
from exchange.extensions import db
from exchange.ledger import queries as q
from exchange.ledger import refunds as rf
from exchange.ledger.models import Refund
from exchange.ledger.services import check, listing_money
from exchange.listings.models import Listing

blp = make_blueprint("api_ledger", "", "资金台账与保证金退款")


def _user(user_id):
    if not user_id:
        return None
    name = q.user_names([user_id]).get(user_id)
    return {"id": user_id, "name": name}


def _listing(listing_id):
    if not listing_id:
        return None
    listing = db.session.get(Listing, listing_id)
    return {"id": listing.id, "project_no": listing.project_no, "title": listing.title} if listing else None


class LedgerAccountRefSchema(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"description": "账户代码"})
    name = fields.String()
    kind = fields.String(metadata={"description": "deposit 保证金 / price 待划付价款 / fee 服务费 / "
                                                  "forfeit 没收保证金 / suspense 挂账待退"})


class RefundSchema(Schema):
    id = fields.Integer()
    state = fields.String(metadata={"description": "pending 待登记转账 / recorded 待复核 / approved 已退还"})
    state_label = fields.String()
    amount = Exact(metadata={"description": "应退金额（元）"})
    payee = fields.String(metadata={"description": "收款人"})
    reason = fields.String()
    reason_label = fields.Function(lambda r: rf.REASONS.get(r.reason, r.reason))
    due_at = fields.DateTime(metadata={"description": "退款期限（5 个工作日）"})
    overdue = fields.Function(lambda r: q.is_overdue(r), metadata={"description": "已超过期限仍未退还"})
    bank_ref = fields.String(metadata={"description": "退款银行回单号"})
    recorded_by = fields.Function(lambda r: _user(r.recorded_by_id), metadata={"description": "登记人"})
    recorded_at = fields.DateTime(allow_none=True)
    approved_by = fields.Function(lambda r: _user(r.approved_by_id), metadata={"description": "复核人"})
    approved_at = fields.DateTime(allow_none=True)
    journal_entry_id = fields.Integer(allow_none=True, metadata={"description": "复核通过后记账的分录"})
    registration_id = fields.Integer(allow_none=True)
    listing = fields.Function(lambda r: _listing(r.listing_id))
    account = fields.Nested(LedgerAccountRefSchema)
    created_at = fields.DateTime()


class RefundListArgs(PageArgs):
    state = fields.String(load_default=None, validate=validate.OneOf(list(q.REFUND_STATES)),
                          metadata={"description": "pending / recorded / approved"})
    overdue = fields.Boolean(load_default=False, metadata={"description": "只列出已超过期限仍未退还的"})


class RefundPageSchema(Schema):
    items = fields.List(fields.Nested(RefundSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class RefundTransferSchema(Schema):
    bank_ref = fields.String(required=True, validate=validate.Length(min=1, max=100),
                             metadata={"description": "退款的银行回单号"})


class LedgerAccountSchema(LedgerAccountRefSchema):
    kind_label = fields.String()
    held = Exact(metadata={"description": "在账余额（元）"})
    refund_id = fields.Integer(allow_none=True)


class LedgerLineSchema(Schema):
    account_code = fields.String()
    account_name = fields.String()
    side = fields.String(metadata={"description": "debit 借 / credit 贷"})
    amount = Exact()


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    memo = fields.String()
    at = fields.DateTime()
    created_by = fields.Dict(allow_none=True)
    lines = fields.List(fields.Nested(LedgerLineSchema))


class ListingMoneySchema(Schema):
    money_in = Exact(metadata={"description": "进账"})
    money_out = Exact(metadata={"description": "出账"})
    held = Exact(metadata={"description": "在账"})


class LedgerListingSchema(Schema):
    listing = fields.Dict()
    money = fields.Nested(ListingMoneySchema)
    accounts = fields.List(fields.Nested(LedgerAccountSchema))
    entries = fields.List(fields.Nested(LedgerEntrySchema))


class LedgerCheckSchema(Schema):
    ok = fields.Boolean(metadata={"description": "账实相符"})
    problems = fields.List(fields.String(), metadata={"description": "发现的问题（中文）"})


def _viewer():
    user = require_login()
    require(user, "ledger.view")
    return user


def _manager():
    user = require_login()
    require(user, "refunds.manage")
    return user


def _refund(refund_id: int) -> Refund:
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        raise not_found("退款")
    return refund


@blp.route("/refunds")
@blp.arguments(RefundListArgs, location="query")
@blp.response(200, RefundPageSchema)
def list_refunds(args):
    """退款列表（待办在前，按期限排序；可按状态、逾期筛选）"""
    _viewer()
    page = db.paginate(q.refunds_stmt(args["state"], args["overdue"], clock.now()), page=args["page"],
                       per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}


@blp.route("/refunds/<int:refund_id>")
@blp.response(200, RefundSchema)
def get_refund(refund_id):
    """退款详情"""
    _viewer()
    return _refund(refund_id)


@blp.route("/refunds/<int:refund_id>/transfer", methods=["POST"])
@authorise("refunds.manage")
@blp.arguments(RefundTransferSchema)
@blp.response(200, RefundSchema)
def record_transfer(args, refund_id):
    """登记退款转账（中心财务；登记后须由另一名财务人员复核）"""
    user = _manager()
    refund = _refund(refund_id)
    return perform(rf.record_transfer, user, refund, args["bank_ref"])


@blp.route("/refunds/<int:refund_id>/approve", methods=["POST"])
@blp.response(200, RefundSchema)
def approve(refund_id):
    """复核退款并记账（须为登记人以外的另一名财务人员；重复复核不重复记账）"""
    user = _manager()
    refund = _refund(refund_id)
    return perform(rf.approve, user, refund)


@blp.route("/ledger/listings/<int:listing_id>")
@blp.response(200, LedgerListingSchema)
def listing_ledger(listing_id):
    """项目资金台账：各账户在账余额与按时间排列的记账分录"""
    _viewer()
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise not_found("项目")
    accounts = [{"id": a.account.id, "code": a.account.code, "name": a.account.name, "kind": a.account.kind,
                 "kind_label": a.kind_label, "held": a.held, "refund_id": a.refund.id if a.refund else None}
                for a in q.listing_accounts(listing.id)]
    entries = []
    for r in q.listing_entries(listing.id):
        entries.append({
            "id": r.entry.id, "kind": r.entry.kind, "kind_label": r.kind_label, "memo": r.entry.memo,
            "at": r.entry.at, "created_by": _user(r.entry.created_by_id),
            "lines": [{"account_code": ln.code, "account_name": ln.name,
                       "side": "debit" if ln.debit is not None else "credit",
                       "amount": ln.debit if ln.debit is not None else ln.credit} for ln in r.lines]})
    return {"listing": {"id": listing.id, "project_no": listing.project_no, "title": listing.title},
            "money": listing_money(listing.id), "accounts": accounts, "entries": entries}


@blp.route("/ledger/check")
@blp.response(200, LedgerCheckSchema)
def ledger_check():
    """台账校验：借贷平衡、各项目进账 = 出账 + 在账、指定账户余额 = 代管资金合计"""
    _viewer()
    problems = check()
    return {"ok": not problems, "problems": problems}
