"""Pages: a buyer applies to a listing and follows it (我的报名); the center reviewer qualifies;
finance confirms the deposit's arrival."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require, scope_clause
from exchange.accounts.models import Role
from exchange.extensions import db
from exchange.inputs import arg_page
from exchange.listings.models import Listing
from exchange.registrations import review
from exchange.registrations import services as rsvc
from exchange.registrations.forms import ApplyForm, DepositForm, RegMaterialForm, ReviewForm
from exchange.registrations.models import REG_STATE_LABELS, Registration, RegistrationMaterial
from exchange.pages import apply_service_error, run_action

bp = Blueprint("registrations", __name__, url_prefix="/registrations")


def _load(reg_id: int) -> Registration:
    reg = db.session.get(Registration, reg_id)
    if reg is None:
        abort(404)
    if current_user.role == Role.PUBLIC:
        if reg.buyer_id != current_user.id:
            raise AccessDenied("您没有权限查看该报名。")
    else:
        require(current_user, "listings.view", reg.listing.org)
    return reg


@bp.route("/apply/<int:listing_id>", methods=["GET", "POST"])
@login_required
def apply(listing_id: int):
    if current_user.role != Role.PUBLIC:  # who asks first: staff learn nothing of the listing
        raise AccessDenied("工作人员账号不能报名，请使用交易主体账号。")
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.state != "announced":
        abort(404)
    form = ApplyForm()
    if listing.is_procurement:  # a supplier's application to a procurement project (招标/采购/招商)
        form.accept_declaration.label.text = "已阅读并确认《投标人声明与保证》"
    party = current_user.party
    if request.method == "GET" and party is not None and party.foreign_kind:
        form.foreign_kind.data = party.foreign_kind

    def page(status: int = 200):
        ban = rsvc.active_ban(current_user)  # 第二十五条: said before the form is filled in
        return render_template("registrations/apply.html", listing=listing, form=form,
                               ban_notice=rsvc.ban_message(ban) if ban else None), status

    def refused(exc):
        apply_service_error(form, exc)
        return page(400)

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    return run_action(
        lambda: rsvc.apply(current_user, listing, accept_declaration=form.accept_declaration.data,
                           offer=form.offer.data or None, by_agent=form.by_agent.data,
                           agent_name=form.agent_name.data or "", agent_id_no=form.agent_id_no.data or "",
                           joint=form.joint.data, joint_members=form.joint_members.data or "",
                           foreign_kind=form.foreign_kind.data or None),
        refused=refused, back=url_for("registrations.apply", listing_id=listing.id),
        then=lambda reg: url_for("registrations.detail", reg_id=reg.id),
        done="报名已提交。请上传第十三条规定的材料，交易中心审核资格后会通知您交纳保证金。")


QUEUES = {
    Role.CENTER_REVIEWER: ("applied", "待资格审核"),
    Role.FINANCE: ("qualified", "待确认保证金"),
}


@bp.route("/")
@login_required
def index():
    stmt = select(Registration).order_by(Registration.id.desc())
    if current_user.role == Role.PUBLIC:
        stmt = stmt.where(Registration.buyer_id == current_user.id)
        title = "我的报名"
    else:
        require(current_user, "listings.view", current_user.org_unit)
        stmt = stmt.join(Listing).where(scope_clause(current_user, Listing.org_path))
        title = "意向受让登记"
    state = request.args.get("state")
    if state in REG_STATE_LABELS:
        stmt = stmt.where(Registration.state == state)
    page = db.paginate(stmt, page=arg_page(), per_page=30, error_out=False)
    return render_template("registrations/index.html", page=page, title=title, state=state, states=REG_STATE_LABELS,
                           now=clock.now(), shows_bidder_no=lambda r: review.shows_bidder_no(current_user, r))


@bp.route("/<int:reg_id>")
@login_required
def detail(reg_id: int):
    reg = _load(reg_id)
    # the deposit's arrival and orders, the bidding room and the deal come from the later stages' template
    # globals (payments' deposit_of, trading's session_of and deal_of): registrations does not import them
    # each role sees what it needs (issue 17): the buyer its own instructions, the reviewer (and the read-only
    # supervisor) the identity, the checks and the papers, finance the payment facts; the 竞买号 only as review.py says
    is_buyer = reg.buyer_id == current_user.id
    can_review = can(current_user, "registrations.review", reg.listing.org)
    qualifying = can_review or current_user.role == Role.SUPERVISOR
    material_form = RegMaterialForm()
    material_form.kind.choices = list(rsvc.materials_for(reg.listing).items())
    return render_template("registrations/detail.html", reg=reg, material_form=material_form,
                           review_form=ReviewForm(), deposit_form=DepositForm(), kinds=rsvc.BUYER_MATERIALS,
                           missing=rsvc.missing_materials(reg), required=rsvc.required_materials(reg),
                           can_review=can_review, is_buyer=is_buyer, qualifying=qualifying,
                           finance_view=current_user.role in (Role.FINANCE, Role.SUPERVISOR),
                           identity=review.identity_of_buyer(reg) if qualifying else None,
                           checks=review.checks(reg) if qualifying else [],
                           open_materials=review.may_open_materials(current_user, reg),
                           show_bidder_no=review.shows_bidder_no(current_user, reg),
                           can_confirm=can(current_user, "deposits.confirm"), now=clock.now())


def _back(reg: Registration) -> str:
    return url_for("registrations.detail", reg_id=reg.id)


@bp.route("/<int:reg_id>/materials", methods=["POST"])
@login_required
def upload(reg_id: int):
    reg = _load(reg_id)
    if reg.buyer_id != current_user.id:  # only the buyer, for its own application
        raise AccessDenied("只能为自己的报名上传材料。")
    form = RegMaterialForm()
    form.kind.choices = list(rsvc.materials_for(reg.listing).items())
    return run_action(lambda: rsvc.add_material(current_user, reg, form.kind.data, form.file.data),
                      form=form, invalid="请选择材料类型和文件。", done="材料已上传。", back=_back(reg))


@bp.route("/<int:reg_id>/qualify", methods=["POST"])
@login_required
def qualify(reg_id: int):
    reg = _load(reg_id)
    rsvc.authorise_review(current_user, reg)  # who asks first, then what was sent
    form = ReviewForm()
    return run_action(lambda: rsvc.qualify(current_user, reg, form.note.data or "",
                                           priority_right=form.priority_right.data,
                                           priority_basis=form.priority_basis.data or "",
                                           foreign_checked=form.foreign_checked.data,
                                           foreign_check_note=form.foreign_check_note.data or ""),
                      form=form, done=lambda r: f"已确认资格，缴款码 {r.payment_ref}。", back=_back(reg))


@bp.route("/<int:reg_id>/materials/<int:material_id>")
@login_required
def download(reg_id: int, material_id: int):
    """A material of an application (``?inline=1``: shown in the browser), for the buyer, the staff who may review
    the application and the supervisor; the reviewer checks the 第十三条 papers and a foreign investor's 审批/备案
    documents here."""
    reg = _load(reg_id)
    review.authorise_materials(current_user, reg)  # the buyer, the reviewer, the supervisor: not every staff member
    material = db.session.get(RegistrationMaterial, material_id)
    if material is None or material.registration_id != reg.id:
        abort(404)
    from exchange.uploads import send_stored  # PDF and images inline (sniffed type, nosniff); anything else a download
    return send_stored(material.storage_key, material.filename, material.content_type,
                       inline=request.args.get("inline") == "1")


@bp.route("/<int:reg_id>/reject", methods=["POST"])
@login_required
def reject(reg_id: int):
    reg = _load(reg_id)
    rsvc.authorise_review(current_user, reg)
    form = ReviewForm()
    return run_action(lambda: rsvc.reject(current_user, reg, form.note.data or ""),
                      form=form, done="已作出不予登记的决定。", back=_back(reg))
