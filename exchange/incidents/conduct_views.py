"""禁止行为认定 pages (第二十五条): the list of findings (the center's staff and the supervisor), the center
reviewer's form on a listing, a finding's page (also shown to the participant found against) and its evidence
(staff and the supervisor only).  Reading: ``conduct.view``; deciding: ``conduct.decide``."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from exchange.access import can, require
from exchange.extensions import db
from exchange.incidents import conduct as csvc
from exchange.incidents.models import CONDUCT_GROUNDS, CONDUCT_ITEMS, ConductFinding
from exchange.inputs import arg_id, arg_page
from exchange.listings.models import Listing
from exchange.pages import apply_service_error, run_action

bp = Blueprint("conduct", __name__)


class FindingForm(FlaskForm):
    participant = SelectField("被认定的当事人", choices=[], validate_choice=False)
    ground = RadioField("禁止行为的情形（第二十五条）",
                        choices=[(k, f"{CONDUCT_ITEMS[k]}{v}") for k, v in CONDUCT_GROUNDS.items()],
                        validate_choice=False)
    facts = TextAreaField("认定的事实", validators=[Optional(), Length(max=csvc.FACTS_MAX)])
    evidence = FileField("证据材料（PDF、JPG 或 PNG）")
    void = BooleanField("取消其在本项目的报名资格（仅限成交以前；已交的保证金按规定退还）")
    ban_days = StringField("禁止报名新项目的天数（0 为不禁止）", default="0", validators=[Optional(), Length(max=6)])
    alert_id = HiddenField(validators=[Optional(), Length(max=12)])


@bp.app_template_global("conduct_of_registration")
def conduct_of_registration(reg) -> list:
    """The findings against the buyer of ``reg`` in its listing, for its registration page."""
    try:
        return csvc.of_registration(reg)
    except Exception:  # noqa: BLE001 — a notice must never break the registration page
        return []


# --- the list and a finding ---------------------------------------------------------------------------

@bp.route("/conduct")
@login_required
def index():
    require(current_user, "conduct.view")
    ground = request.args.get("ground")
    ground = ground if ground in CONDUCT_GROUNDS else None
    listing = None
    listing_id = arg_id("listing_id", "项目编号")
    if listing_id is not None:
        listing = db.session.get(Listing, listing_id)
        if listing is None:
            abort(404)
    stmt = csvc.search(current_user, listing_id=listing.id if listing else None, ground=ground)
    page = db.paginate(stmt, page=arg_page(), per_page=30, error_out=False)
    may_decide = listing is not None and can(current_user, "conduct.decide") and csvc.listing_eligible(listing)
    return render_template("incidents/conduct_list.html", page=page, ground=ground, grounds=CONDUCT_GROUNDS,
                           items=CONDUCT_ITEMS, listing=listing, may_decide=may_decide)


def _finding(finding_id: int) -> ConductFinding:
    found = db.session.get(ConductFinding, finding_id)
    if found is None or not csvc.may_view(current_user, found):
        abort(404)  # a participant learns nothing about others' findings, not even that they exist
    return found


@bp.route("/conduct/<int:finding_id>")
@login_required
def detail(finding_id: int):
    f = _finding(finding_id)
    staff = can(current_user, "conduct.view")
    from exchange.trading.services import deal_for
    return render_template("incidents/conduct_detail.html", f=f, listing=f.listing, staff=staff,
                           deal=deal_for(f.listing) if staff else None, ban=csvc.ban_of(f),
                           alert=csvc.alert_of(f) if staff else None, names=_names(f) if staff else {})


def _names(f: ConductFinding) -> dict:
    from exchange.accounts.models import User
    u = db.session.get(User, f.decided_by_id)
    return {f.decided_by_id: f"{u.display_name}（{u.role_label}）"} if u else {}


@bp.route("/conduct/<int:finding_id>/evidence")
@login_required
def evidence(finding_id: int):
    require(current_user, "conduct.view")  # the evidence stays with the center and the supervisor
    f = db.session.get(ConductFinding, finding_id)
    if f is None:
        abort(404)
    from exchange.uploads import send_stored
    return send_stored(f.evidence_key, f.evidence_filename, f.evidence_content_type, inline=True)


# --- deciding -----------------------------------------------------------------------------------------

@bp.route("/listings/<int:listing_id>/conduct/new", methods=["GET", "POST"])
@login_required
def new(listing_id: int):
    require(current_user, "conduct.decide")  # who asks first: others learn nothing of the listing
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    form = FindingForm()
    form.participant.choices = [("", "请选择")] + csvc.participants(listing)
    if request.method == "GET" and request.args.get("alert_id"):
        form.alert_id.data = request.args.get("alert_id", "")[:12]
    if not csvc.listing_eligible(listing):
        form.form_errors.append("该项目还没有发布交易公告，没有可认定的交易行为。")
    alert = None
    if form.alert_id.data:
        try:
            alert = csvc.alert_for(listing, form.alert_id.data)
        except csvc.ConductError:
            if request.method == "GET":
                form.alert_id.data = ""  # a stale link: the form goes on without it (a POST is refused)

    def page(status: int = 200):
        return render_template("incidents/conduct_new.html", listing=listing, form=form, alert=alert,
                               ban_max=csvc.BAN_MAX_DAYS), status

    def refused(exc):
        apply_service_error(form, exc)
        return page(400)

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    return run_action(lambda: csvc.decide(current_user, listing, participant=form.participant.data or "",
                                          ground=form.ground.data or "", facts=form.facts.data or "",
                                          evidence=form.evidence.data or None, void=form.void.data,
                                          ban_days=form.ban_days.data, alert_id=form.alert_id.data or None),
                      refused=refused, done=_done, back=url_for("conduct.new", listing_id=listing.id),
                      then=lambda f: url_for("conduct.detail", finding_id=f.id))


def _done(f: ConductFinding) -> str:
    parts = [f"已认定 {f.subject_name} 存在{f.ground_item}的行为"]
    if f.void_requested:
        parts.append(f.void_outcome_label)
    ban = csvc.ban_of(f)
    if ban is not None:
        d = ban.last_day
        parts.append(f"禁止报名新项目至 {d.year}年{d.month}月{d.day}日（含）")
    return "；".join(parts) + "。"
