"""A party's own mediation pages (第二十七条): the transferor (its own account) or the buyer of a deal applies online
from its listing, deal, contract or registration page; follows its applications (我的调解申请) and each one's
progress (待受理 → 调解中 → 结案, or 不予受理 with the reason).  The center's side is in ``dispute_views``."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from exchange.extensions import db
from exchange.incidents import disputes as dsvc
from exchange.incidents.models import Dispute
from exchange.listings.models import Listing
from exchange.pages import apply_service_error, run_action

bp = Blueprint("mediation", __name__)


class ApplyForm(FlaskForm):
    respondent = StringField("被申请人（对方当事人的姓名或单位名称）", validators=[Optional(), Length(max=dsvc.NAME_MAX)])
    claims = TextAreaField("纠纷的事实和理由", validators=[Optional(), Length(max=dsvc.CLAIMS_MAX)])
    requests = TextAreaField("调解请求", validators=[Optional(), Length(max=dsvc.REQUESTS_MAX)])
    evidence = FileField("证据材料（PDF、JPG 或 PNG，可不传）")


@bp.app_template_global("mediation_for")
def mediation_for(listing) -> dict:
    """For the signed-in party's pages of ``listing``: may it apply, and its own applications there."""
    try:
        if listing is None or dsvc.side_of(current_user, listing) is None:
            return {"party": False, "may_apply": False, "mine": []}
        return {"party": True, "may_apply": dsvc.may_apply(current_user, listing),
                "mine": dsvc.applications_of(current_user, listing)}
    except Exception:  # noqa: BLE001 — a side panel must never break the page it sits on
        return {"party": False, "may_apply": False, "mine": []}


@bp.route("/listings/<int:listing_id>/mediation/apply", methods=["GET", "POST"])
@login_required
def apply(listing_id: int):
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    side = dsvc.authorise_apply(current_user, listing)  # who asks first, then what was sent
    form = ApplyForm()
    if request.method == "GET" and not form.respondent.data:
        form.respondent.data = dsvc.counterpart(listing, side)
    held = dsvc.active_application(current_user, listing)
    if not dsvc.listing_eligible(listing):
        form.form_errors.append("该项目还没有发布交易公告，暂时不能申请调解。")

    def page(status: int = 200):
        return render_template("incidents/mediation_apply.html", listing=listing, form=form, side=side,
                               held=held), status

    def refused(exc):
        apply_service_error(form, exc)
        return page(400)

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    return run_action(lambda: dsvc.apply(current_user, listing, claims=form.claims.data or "",
                                         requests=form.requests.data or "", respondent=form.respondent.data or "",
                                         evidence=form.evidence.data or None),
                      refused=refused, back=url_for("mediation.apply", listing_id=listing.id),
                      done="调解申请已提交，交易中心将决定是否受理，结果会在本页显示。",
                      then=lambda d: url_for("mediation.detail", dispute_id=d.id))


@bp.route("/mediation")
@login_required
def mine():
    return render_template("incidents/mediation_mine.html", items=dsvc.applications_of(current_user))


def _own(dispute_id: int) -> Dispute:
    d = db.session.get(Dispute, dispute_id)
    if d is None or d.applicant_user_id is None or d.applicant_user_id != current_user.id:
        abort(404)  # nobody learns whether someone else's record exists
    return d


@bp.route("/mediation/<int:dispute_id>")
@login_required
def detail(dispute_id: int):
    d = _own(dispute_id)
    return render_template("incidents/mediation_detail.html", d=d, listing=d.listing)


@bp.route("/mediation/<int:dispute_id>/evidence")
@login_required
def evidence(dispute_id: int):
    d = _own(dispute_id)
    if not d.evidence_key:
        abort(404)
    from exchange.uploads import send_stored
    return send_stored(d.evidence_key, d.evidence_filename, d.evidence_content_type, inline=True)
