"""Finance workbench pages: per-listing and per-buyer ledger views, refunds (maker-checker).

Seeing needs ``ledger.view`` (finance, and the supervisor read-only); acting on a refund needs
``refunds.manage`` (finance).  The refund services check the role again and enforce the rules
(one finance user records the transfer, a different one approves it)."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required

from exchange import clock, labels
from exchange.access import can, require
from exchange.accounts.models import User
from exchange.extensions import db
from exchange.inputs import arg_page
from exchange.ledger import queries as q
from exchange.ledger import refunds as rf
from exchange.ledger.forms import ApproveForm, TransferForm
from exchange.ledger.models import JournalEntry, Refund
from exchange.ledger.services import check, listing_money
from exchange.listings.models import Listing
from exchange.money import format_yuan
from exchange.pages import run_action

bp = Blueprint("ledger", __name__, url_prefix="/finance")

PER_PAGE = 30


def _refund(refund_id: int) -> Refund:
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        abort(404)
    return refund


# --- refunds ------------------------------------------------------------------------------------------

@bp.route("/refunds")
@login_required
def refunds():
    require(current_user, "ledger.view")
    state = request.args.get("state")
    state = state if state in q.REFUND_STATES else None
    overdue = request.args.get("overdue") == "1"
    now = clock.now()
    page = db.paginate(q.refunds_stmt(state, overdue, now), page=arg_page(),
                       per_page=PER_PAGE, error_out=False)
    return render_template("ledger/refunds.html", page=page, state=state, overdue=overdue, now=now,
                           states=q.REFUND_STATES, counts=q.refund_counts(now), reasons=rf.REASONS,
                           names=q.refund_user_names(page.items),
                           listings=q.listing_map(r.listing_id for r in page.items))


def _render_refund(refund: Refund, transfer_form: TransferForm | None = None, status: int = 200):
    entry = db.session.get(JournalEntry, refund.journal_entry_id) if refund.journal_entry_id else None
    registration = None
    if refund.registration_id:
        from exchange.registrations.models import Registration
        registration = db.session.get(Registration, refund.registration_id)
    listing = db.session.get(Listing, refund.listing_id) if refund.listing_id else None
    return render_template(
        "ledger/refund.html", refund=refund, entry=entry, registration=registration, listing=listing,
        names=q.refund_user_names([refund]), reasons=rf.REASONS, states=q.REFUND_STATES,
        overdue=q.is_overdue(refund), held=q.held_by_account([refund.account_id])[refund.account_id],
        can_manage=can(current_user, "refunds.manage"), transfer_form=transfer_form or TransferForm(),
        approve_form=ApproveForm(), entry_label=labels.label("entry", entry.kind) if entry else "",
        show_bidder_no=bool(registration) and _shows_bidder_no(registration)), status


def _shows_bidder_no(registration) -> bool:
    from exchange.registrations.review import shows_bidder_no
    return shows_bidder_no(current_user, registration)


@bp.route("/refunds/<int:refund_id>")
@login_required
def refund(refund_id: int):
    require(current_user, "ledger.view")
    return _render_refund(_refund(refund_id))


REFUND_STALE = "该退款刚被他人处理，请查看最新状态。"


@bp.route("/refunds/<int:refund_id>/transfer", methods=["POST"])
@login_required
def record_transfer(refund_id: int):
    require(current_user, "refunds.manage")
    refund = _refund(refund_id)
    form = TransferForm()
    if not form.validate_on_submit():
        return _render_refund(refund, form, 400)
    return run_action(lambda: rf.record_transfer(current_user, refund, form.bank_ref.data),
                      done=lambda _: f"已登记退款转账（回单号 {refund.bank_ref}），请另一名财务人员复核。",
                      back=url_for("ledger.refund", refund_id=refund_id), stale=REFUND_STALE)


@bp.route("/refunds/<int:refund_id>/approve", methods=["POST"])
@login_required
def approve(refund_id: int):
    require(current_user, "refunds.manage")
    refund = _refund(refund_id)
    already = refund.is_approved
    return run_action(lambda: rf.approve(current_user, refund), form=ApproveForm(),
                      done=lambda _: "该退款此前已复核通过，未重复记账。" if already else
                      f"复核通过：{format_yuan(refund.amount)} 元已退还 {refund.payee}，已记账。",
                      back=url_for("ledger.refund", refund_id=refund_id), stale=REFUND_STALE)


# --- ledger (台账) --------------------------------------------------------------------------------------

@bp.route("/ledger")
@login_required
def ledger():
    require(current_user, "ledger.view")
    page = db.paginate(q.listings_with_money_stmt(), page=arg_page(),
                       per_page=PER_PAGE, error_out=False)
    return render_template("ledger/index.html", page=page, money=q.money_of(page.items), bank=q.bank_balance(),
                           problems=check())


@bp.route("/ledger/listing/<int:listing_id>")
@login_required
def listing(listing_id: int):
    require(current_user, "ledger.view")
    item = db.session.get(Listing, listing_id)
    if item is None:
        abort(404)
    return render_template("ledger/listing.html", listing=item, money=listing_money(item.id),
                           accounts=q.listing_accounts(item.id), entries=q.listing_entries(item.id),
                           states=q.REFUND_STATES)


@bp.route("/ledger/buyer/<int:user_id>")
@login_required
def buyer(user_id: int):
    require(current_user, "ledger.view")
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    accounts = q.buyer_accounts(user.id)
    listings = q.listing_map(r.account.listing_id for r in accounts)
    return render_template("ledger/buyer.html", buyer=user, accounts=accounts, listings=listings,
                           entries=q.entries_touching(r.account.id for r in accounts), states=q.REFUND_STATES,
                           total=sum((r.held for r in accounts), start=Decimal("0.00")))


@bp.route("/ledger/suspense")
@login_required
def suspense():
    require(current_user, "ledger.view")
    page = db.paginate(q.suspense_stmt(), page=arg_page(), per_page=PER_PAGE,
                       error_out=False)
    rows = q.suspense_rows(page.items)
    listings = q.listing_map(r.account.listing_id for r in rows)
    return render_template("ledger/suspense.html", page=page, rows=rows, listings=listings, states=q.REFUND_STATES,
                           total=sum((r.held for r in rows), start=Decimal("0.00")))

