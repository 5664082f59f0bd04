"""Pages: finance's settlement list and detail (balance receipts, fees, payouts with four eyes), the
buyer's settlement (amount, 缴款码, deadline, 网上支付, 结算单 PDF), and the admin's fee table."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.extensions import db
from exchange.inputs import InputError, parse_percent
from exchange.payments import services as psvc
from exchange.payments.models import PaymentOrder
from exchange.payments.providers import enabled_providers
from exchange.settlement import services as stl
from exchange.settlement.documents import statement_pdf
from exchange.pages import ActionForm, run_action
from exchange.settlement.forms import FeeRuleForm, ReceiptForm, TransferForm
from exchange.settlement.models import FEE_PAYERS, FeeRule, Payout, Settlement
from exchange.trading.models import Deal

bp = Blueprint("settlement", __name__)


def _load(settlement_id: int) -> Settlement:
    s = db.session.get(Settlement, settlement_id)
    if s is None:
        abort(404)
    stl.require_view(current_user, s)
    return s


def _back(s: Settlement) -> str:
    return url_for("settlement.detail", settlement_id=s.id)


def _not_opened() -> list[Deal]:
    """Deals in 结算 whose contract is effective but that have no settlement yet: the contract's effect could not
    open it (the fee table could not price it).  Only shown here — the deadline sweeper opens them
    (``settlement.services.open_missing``) once the table is corrected."""
    from exchange.contracts.models import Contract
    from exchange.contracts.states import ContractState
    from exchange.listings.models import Listing
    return list(db.session.scalars(
        select(Deal).join(Listing, Listing.id == Deal.listing_id).join(Contract, Contract.deal_id == Deal.id)
        .outerjoin(Settlement, Settlement.deal_id == Deal.id)
        .where(Listing.state == "settlement", Contract.state.in_(ContractState.IN_FORCE), Settlement.id.is_(None))
        .order_by(Deal.id)))


@bp.route("/settlements")
@login_required
def index():
    require(current_user, "settlement.manage")
    return render_template("settlement/index.html", q=stl.queues(), now=clock.now(), payout_of=stl.payout_of,
                           not_opened=_not_opened())


@bp.route("/settlements/deal/<int:deal_id>")
@login_required
def for_deal(deal_id: int):
    """The buyer's (or staff's) way in from a deal: its settlement, opened when the contract took effect.  Only
    read: a settlement not opened yet is said so."""
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        abort(404)
    if not (stl.is_staff_viewer(current_user) or deal.buyer_id == current_user.id
            or deal.listing.transferor_user_id == current_user.id):
        raise AccessDenied("您没有权限查看该结算。")
    s = stl.for_deal(deal)
    if s is None:
        if stl.effective_contract(deal) is None:
            flash("合同尚未生效，不能办理结算。", "error")
        else:
            flash("结算单尚未生成：合同生效后系统自动生成结算单（缴款码和付款期限），请稍后再来查看。", "info")
        return redirect(url_for("registrations.detail", reg_id=deal.registration_id))
    return redirect(url_for("settlement.detail", settlement_id=s.id))


@bp.route("/settlements/<int:settlement_id>")
@login_required
def detail(settlement_id: int):
    s = _load(settlement_id)
    staff = stl.is_staff_viewer(current_user)
    manage = can(current_user, "settlement.manage")
    orders = db.session.scalars(select(PaymentOrder).where(PaymentOrder.settlement_id == s.id)
                                .order_by(PaymentOrder.id.desc())).all()
    payout = stl.payout_of(s)
    full_account = staff or s.listing.transferor_user_id == current_user.id
    return render_template("settlement/detail.html", s=s, deal=s.deal, listing=s.listing, payout=payout,
                           orders=orders, providers=enabled_providers(), staff=staff, manage=manage,
                           is_buyer=s.deal.buyer_id == current_user.id, fees_charged=stl.fees_charged(s),
                           account_no=(payout.payee_account if payout else s.listing.account_no),
                           full_account=full_account, mask=stl.mask_account, sources=stl.SOURCES,
                           payout_states=stl.PAYOUT_STATES, receipt_form=ReceiptForm(), transfer_form=TransferForm(),
                           form=ActionForm(), now=clock.now())


@bp.route("/settlements/<int:settlement_id>.pdf")
@login_required
def pdf(settlement_id: int):
    s = _load(settlement_id)
    full = stl.is_staff_viewer(current_user) or s.listing.transferor_user_id == current_user.id
    data = statement_pdf(s, full_account=full)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="settlement-{s.payment_ref}.pdf"'})


@bp.route("/settlements/<int:settlement_id>/pay", methods=["POST"])
@login_required
def pay(settlement_id: int):
    s = _load(settlement_id)
    return run_action(lambda: psvc.start_price_payment(current_user, s, request.form.get("provider", "sandbox")),
                      form=ActionForm(), done=None, then=psvc.checkout_url, back=_back(s))  # on to the bank's page


def _local_time(text: str | None) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=clock.LOCAL_TZ)
        except ValueError:
            continue
    raise stl.SettlementError("到账时间格式应为 2026-11-27 15:20。", field="arrived_at")


@bp.route("/settlements/<int:settlement_id>/receipt", methods=["POST"])
@login_required
def receipt(settlement_id: int):
    s = _load(settlement_id)
    require(current_user, "settlement.manage")  # who asks first, then what was sent
    form = ReceiptForm()

    def confirm():
        upload = form.receipt.data
        return stl.confirm_receipt(current_user, s, form.amount.data, source_key=form.source_key.data,
                                   receipt=upload if upload else None,
                                   receipt_filename=getattr(upload, "filename", None),
                                   arrived_at=_local_time(form.arrived_at.data))

    return run_action(confirm, form=form, invalid="请完整填写到账金额、回单号并上传回单。", done="价款已确认到账。",
                      back=_back(s))


@bp.route("/settlements/<int:settlement_id>/receipt-file")
@login_required
def receipt_file(settlement_id: int):
    s = _load(settlement_id)
    if not s.receipt_key:
        abort(404)
    from exchange.uploads import send_stored
    return send_stored(s.receipt_key, s.receipt_filename, s.receipt_content_type, inline=True)


@bp.route("/settlements/<int:settlement_id>/charge-fees", methods=["POST"])
@login_required
def charge_fees(settlement_id: int):
    s = _load(settlement_id)
    require(current_user, "settlement.manage")  # who asks first, then what was sent
    done = ("服务费已收取，结算完成（合同价款由双方直接收付），项目转入鉴证。" if s.listing.is_procurement
            else "服务费已收取，划付已生成，请登记转账。")
    return run_action(lambda: stl.charge_fees(current_user, s), form=ActionForm(), done=done, back=_back(s))


def _payout(payout_id: int) -> Payout:
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        abort(404)
    require(current_user, "settlement.manage")
    return payout


@bp.route("/payouts/<int:payout_id>/transfer", methods=["POST"])
@login_required
def transfer(payout_id: int):
    payout = _payout(payout_id)
    form = TransferForm()
    return run_action(lambda: stl.record_transfer(current_user, payout, form.bank_ref.data), form=form,
                      done="已登记划付转账，请由另一名财务人员复核。",
                      back=url_for("settlement.detail", settlement_id=payout.settlement_id))


@bp.route("/payouts/<int:payout_id>/approve", methods=["POST"])
@login_required
def approve(payout_id: int):
    payout = _payout(payout_id)
    return run_action(lambda: stl.approve(current_user, payout), form=ActionForm(),
                      done="划付已复核，结算完成，项目进入鉴证。",
                      back=url_for("settlement.detail", settlement_id=payout.settlement_id))


# --- the fee table --------------------------------------------------------------------------------

def _categories():
    from exchange.catalog.models import Category
    return db.session.scalars(select(Category).order_by(Category.seq)).all()


@bp.route("/admin/fees")
@login_required
def fees():
    require(current_user, "fees.manage")
    rules = {r.category_id: r for r in db.session.scalars(select(FeeRule))}
    return render_template("settlement/fees.html", categories=_categories(), rules=rules,
                           label=stl.fee_rule_label, payers=FEE_PAYERS)


@bp.route("/admin/fees/<key>", methods=["GET", "POST"])
@login_required
def fee_edit(key: str):
    require(current_user, "fees.manage")
    category = None
    if key != "default":
        from exchange.catalog.models import Category
        category = db.session.get(Category, int(key)) if key.isdigit() else None
        if category is None:
            abort(404)
    cid = category.id if category else None
    rule = db.session.scalar(select(FeeRule).where(FeeRule.category_id == cid) if cid is not None
                             else select(FeeRule).where(FeeRule.category_id.is_(None)))
    form = FeeRuleForm(obj=None)
    if request.method == "GET" and rule is not None:
        form.basis.data, form.payer.data, form.active.data, form.note.data = rule.basis, rule.payer, rule.active, rule.note
        form.rate.data = "" if rule.rate is None else f"{(rule.rate * 100).normalize():f}"  # shown as a percentage
        form.fixed_amount.data = "" if rule.fixed_amount is None else str(rule.fixed_amount)
        form.min_fee.data = "" if rule.min_fee is None else str(rule.min_fee)
        form.max_fee.data = "" if rule.max_fee is None else str(rule.max_fee)

    def page(status: int = 200):
        return render_template("settlement/fee_edit.html", form=form, category=category, rule=rule), status

    def refused(exc):
        field = getattr(form, exc.field, None) if exc.field else None
        if field is not None:
            field.errors = list(field.errors) + [exc.message]
        else:
            flash(exc.message, "error")
        return page(400)

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    rate = None  # the form takes a percentage ("1" = 1 %); the rule keeps the rate (0.01), as the API gives it
    if form.basis.data == "rate":
        try:
            rate = parse_percent(form.rate.data, field="rate")
        except InputError as exc:
            return refused(exc)
    return run_action(lambda: stl.save_fee_rule(current_user, cid, basis=form.basis.data, rate=rate,
                                                fixed_amount=form.fixed_amount.data, min_fee=form.min_fee.data,
                                                max_fee=form.max_fee.data, payer=form.payer.data,
                                                active=form.active.data, note=form.note.data or ""),
                      refused=refused, done="收费标准已保存。", back=url_for("settlement.fees"))
