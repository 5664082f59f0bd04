"""Contract pages: the contract for the parties and the staff (/contracts/<id>), its PDF and scan, the
parties' confirmation and upload, the center's clause editor and check; the staff list (/contracts)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from exchange import clock
from exchange.contracts import services as csvc
from exchange.contracts.forms import CheckForm, ClausesForm, ConfirmForm, ScanForm
from exchange.contracts.models import CONTRACT_STATES, Contract
from exchange.contracts.templates_data import FAMILIES, FREE_CLAUSES
from exchange.extensions import db
from exchange.trading.models import Deal
from exchange.pages import apply_service_error, run_action

bp = Blueprint("contracts", __name__, url_prefix="/contracts")


def _contract(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        abort(404)
    csvc.require_view(current_user, contract)
    return contract


@bp.route("")
@login_required
def index():
    state = request.args.get("state") if request.args.get("state") in CONTRACT_STATES else None
    items = csvc.staff_list(current_user, state)
    return render_template("contracts/index.html", items=items, state=state, states=CONTRACT_STATES,
                           overdue=csvc.is_overdue, now=clock.now(), families=FAMILIES)


@bp.route("/deal/<int:deal_id>")
@login_required
def for_deal(deal_id: int):
    """The deal's contract (the link on 我的报名).  Only read: a deal in 签约 whose draft is missing is said so (the
    deadline sweeper opens it, :func:`exchange.contracts.services.open_late`)."""
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        abort(404)
    csvc.require_view_deal(current_user, deal)  # who asks first, then what there is
    contract = csvc.contract_for_deal(deal)
    if contract is not None:
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    if deal.state != "confirmed" or deal.listing.state != "contract":
        abort(404)
    return render_template("contracts/not_open.html", deal=deal, listing=deal.listing)


def _page(contract: Contract, status: int = 200, **forms):
    clauses = csvc.clauses_of(contract)
    clauses_form = forms.get("clauses_form") or ClausesForm(data=clauses)
    side = csvc.party_side(current_user, contract)
    confirmed_at = None
    if side == "buyer":
        confirmed_at = contract.buyer_confirmed_at
    elif side == "seller":
        confirmed_at = contract.seller_confirmed_at
    return render_template(
        "contracts/detail.html", c=contract, deal=contract.deal, listing=contract.listing, f=csvc.facts(contract),
        clauses=clauses, free=FREE_CLAUSES, side=side, capacity=csvc.seller_capacity(current_user, contract),
        my_confirmed_at=confirmed_at, overdue=csvc.is_overdue(contract), now=clock.now(),
        may_manage=csvc.may_manage(current_user, contract), may_upload=csvc.may_upload(current_user, contract),
        confirm_form=forms.get("confirm_form") or ConfirmForm(), scan_form=forms.get("scan_form") or ScanForm(),
        check_form=forms.get("check_form") or CheckForm(), clauses_form=clauses_form,
        due_text=csvc.due_text(contract), on_behalf=csvc.ON_BEHALF, late=csvc.signed_late(contract),
        needs_scan=csvc.needs_signature_scan(current_user, contract)), status


@bp.route("/<int:contract_id>")
@login_required
def detail(contract_id: int):
    return _page(_contract(contract_id))


def _act(contract: Contract, form, form_name: str, action, done: str):
    """A contract page's action: the form checked (else the page again, 400), the service run; a refusal
    shown next to its field in the form that is still on the page, or (a state rule: the form may be gone)
    at the top."""
    if not form.validate_on_submit():
        return _page(contract, 400, **{form_name: form})

    def refused(exc):
        if getattr(exc, "field", None) and hasattr(form, exc.field):
            apply_service_error(form, exc)
        else:
            flash(exc.message, "error")
        return _page(db.session.get(Contract, contract.id), 400, **{form_name: form})

    return run_action(action, done=done, refused=refused, back=url_for("contracts.detail", contract_id=contract.id),
                      stale="合同已被他人同时修改，请核对后重试。")


@bp.route("/<int:contract_id>/confirm", methods=["POST"])
@login_required
def confirm(contract_id: int):
    contract = _contract(contract_id)
    csvc.authorise_confirm(current_user, contract)  # who asks first, then what was sent
    form = ConfirmForm()
    upload = request.files.get("file") if csvc.needs_signature_scan(current_user, contract) else None

    done = "双方均已签署，合同已生效，项目进入资金结算。" if _last_signature(contract) else "您已签署合同，等待对方签署。"
    return _act(contract, form, "confirm_form",
                lambda: csvc.confirm(current_user, contract, form.password.data, upload), done)


def _last_signature(contract: Contract) -> bool:
    """Whether the signature being given is the second one (the message after it says the contract is in force)."""
    return bool(contract.buyer_confirmed_at) != bool(contract.seller_confirmed_at)


@bp.route("/<int:contract_id>/scan", methods=["POST"])
@login_required
def upload(contract_id: int):
    contract = _contract(contract_id)
    csvc.authorise_upload(current_user, contract)
    form = ScanForm()
    return _act(contract, form, "scan_form", lambda: csvc.upload_scan(current_user, contract, request.files.get("file")),
                "扫描件已上传，等待交易中心核验。")


@bp.route("/<int:contract_id>/check", methods=["POST"])
@login_required
def check(contract_id: int):
    """The center's check of the signed scan (part of 鉴证): one decision (checked / returned) of one service."""
    contract = _contract(contract_id)
    csvc.authorise_manage(current_user, contract)
    form = CheckForm()
    approve = form.decision.data == "approve"
    return _act(contract, form, "check_form",
                lambda: csvc.check(current_user, contract, approve=approve, note=form.note.data or ""),
                "签章合同核验无误。" if approve else "已退回，双方可重新上传扫描件。")


@bp.route("/<int:contract_id>/clauses", methods=["POST"])
@login_required
def clauses(contract_id: int):
    contract = _contract(contract_id)
    csvc.authorise_manage(current_user, contract)
    form = ClausesForm()
    return _act(contract, form, "clauses_form",
                lambda: csvc.edit_clauses(current_user, contract, {c.key: getattr(form, c.key).data
                                                                   for c in FREE_CLAUSES}),
                "约定条款已保存。")


@bp.route("/<int:contract_id>.pdf")
@login_required
def pdf(contract_id: int):
    from flask import Response
    contract = _contract(contract_id)
    resp = Response(csvc.contract_pdf(contract), mimetype="application/pdf")
    name = f"contract-{contract.listing.project_no}.pdf"
    resp.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{name}"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/<int:contract_id>/signature")
@login_required
def signature(contract_id: int):
    """The page the household signed on paper, attached by the clerk who recorded its signature."""
    from exchange.uploads import send_stored
    contract = _contract(contract_id)
    if not contract.seller_signature_key:
        abort(404)
    return send_stored(contract.seller_signature_key, contract.seller_signature_filename,
                       contract.seller_signature_content_type, inline=True)


@bp.route("/<int:contract_id>/scan")
@login_required
def scan(contract_id: int):
    from exchange.uploads import send_stored
    contract = _contract(contract_id)
    if not contract.scan_key:
        abort(404)
    return send_stored(contract.scan_key, contract.scan_filename, contract.scan_content_type, inline=True)

