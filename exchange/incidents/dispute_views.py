"""纠纷调解 pages (第二十七条): the list (open / closed), a new record for a listing, the record with its
mediation notes and the closing form, and the scanned document.  Reading: ``disputes.view`` (the center's
reviewer and trading officer, the supervisor); acting: ``disputes.manage`` (the center's reviewer)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from exchange.access import can, require
from exchange.incidents import disputes as dsvc
from exchange.incidents.models import DISPUTE_STATES, Dispute
from exchange.extensions import db
from exchange.inputs import arg_id, arg_page
from exchange.listings.models import Listing
from exchange.pages import apply_service_error, run_action

bp = Blueprint("disputes", __name__)

FILTERS = {"applied": "待受理", "open": "调解中", "closed": "已结案"}


class DisputeForm(FlaskForm):
    applicant = StringField("申请人（姓名或单位名称）", validators=[Optional(), Length(max=dsvc.NAME_MAX)])
    respondent = StringField("被申请人（姓名或单位名称）", validators=[Optional(), Length(max=dsvc.NAME_MAX)])
    parties = TextAreaField("其他当事人或利害关系人（可不填）", validators=[Optional(), Length(max=dsvc.PARTIES_MAX)])
    claims = TextAreaField("调解请求和事实理由", validators=[Optional(), Length(max=dsvc.CLAIMS_MAX)])


class NoteForm(FlaskForm):
    note = TextAreaField("调解情况（时间、地点、参加人员、各方意见、调解建议）",
                         validators=[Optional(), Length(max=dsvc.NOTE_MAX)])


class AcceptForm(FlaskForm):
    note = TextAreaField("受理意见（可不填；填写的作为第一条调解记录）", validators=[Optional(), Length(max=dsvc.NOTE_MAX)])


class DeclineForm(FlaskForm):
    reason = TextAreaField("不予受理的理由（申请人将看到）", validators=[Optional(), Length(max=dsvc.REASON_MAX)])


class CloseForm(FlaskForm):
    outcome = RadioField("调解结果", choices=list(dsvc.OUTCOMES.items()), validate_choice=False)
    text = TextAreaField("调解协议内容，或调解不成、撤回的情况", validators=[Optional(), Length(max=dsvc.AGREEMENT_MAX)])
    advice = RadioField("调解不成时告知当事人的途径（第二十七条）", choices=list(dsvc.ADVICE.items()),
                        validate_choice=False)
    document = FileField("调解协议书或调解记录扫描件（PDF、JPG 或 PNG，可不传）")


def _dispute(dispute_id: int) -> Dispute:
    require(current_user, "disputes.view")  # before the lookup: outsiders learn nothing about which ids exist
    d = db.session.get(Dispute, dispute_id)
    if d is None:
        abort(404)
    return d


@bp.route("/disputes")
@login_required
def index():
    require(current_user, "disputes.view")
    state = request.args.get("state")
    state = state if state in FILTERS or state in DISPUTE_STATES else None
    listing = None
    listing_id = arg_id("listing_id", "项目编号")
    if listing_id is not None:
        listing = db.session.get(Listing, listing_id)
        if listing is None:
            abort(404)
    stmt = dsvc.search(current_user, state=state, listing_id=listing.id if listing else None)
    page = db.paginate(stmt, page=arg_page(), per_page=30, error_out=False)
    may_open = listing is not None and can(current_user, "disputes.manage") and dsvc.listing_eligible(listing)
    return render_template("incidents/disputes.html", page=page, state=state, filters=FILTERS, listing=listing,
                           may_open=may_open, may_manage=can(current_user, "disputes.manage"))


@bp.route("/listings/<int:listing_id>/disputes/new", methods=["GET", "POST"])
@login_required
def new(listing_id: int):
    require(current_user, "disputes.manage")
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    form = DisputeForm()
    if not dsvc.listing_eligible(listing):
        form.form_errors.append("该项目尚未发布交易公告，还没有可以调解的交易纠纷。")

    def page(status: int = 200):
        return render_template("incidents/dispute_new.html", listing=listing, form=form), status

    def refused(exc):
        apply_service_error(form, exc)
        return page(400)

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    return run_action(lambda: dsvc.open_dispute(current_user, listing, applicant=form.applicant.data,
                                                respondent=form.respondent.data, parties=form.parties.data or "",
                                                claims=form.claims.data),
                      refused=refused, done="已登记纠纷调解申请，请记录每次调解的情况。",
                      back=url_for("disputes.new", listing_id=listing.id),
                      then=lambda d: url_for("disputes.detail", dispute_id=d.id))


def _render_detail(d: Dispute, note_form=None, close_form=None, status: int = 200, accept_form=None,
                   decline_form=None):
    from exchange.trading.services import deal_for
    return render_template("incidents/dispute_detail.html", d=d, listing=d.listing, deal=deal_for(d.listing),
                           notes=_shown_notes(d), closed=dsvc.is_closed(d),
                           may_manage=can(current_user, "disputes.manage"),
                           note_form=note_form or NoteForm(), close_form=close_form or CloseForm(),
                           accept_form=accept_form or AcceptForm(), decline_form=decline_form or DeclineForm(),
                           outcomes=dsvc.OUTCOMES, users=_names(d)), status


def _shown_notes(d: Dispute) -> list[dict]:
    from datetime import datetime
    out = []
    for n in dsvc.notes_of(d):
        try:
            at = datetime.fromisoformat(n["at"]) if n.get("at") else None
        except (TypeError, ValueError):
            at = None
        out.append({**n, "at": at})
    return out


def _names(d: Dispute) -> dict:
    from exchange.accounts.models import User
    ids = {i for i in (d.opened_by_id, d.closed_by_id, d.accepted_by_id) if i}
    return {u.id: f"{u.display_name}（{u.role_label}）" for u in
            (db.session.get(User, i) for i in ids) if u is not None}


@bp.route("/disputes/<int:dispute_id>")
@login_required
def detail(dispute_id: int):
    return _render_detail(_dispute(dispute_id))


@bp.route("/disputes/<int:dispute_id>/notes", methods=["POST"])
@login_required
def add_note(dispute_id: int):
    d = _dispute(dispute_id)
    require(current_user, "disputes.manage")
    form = NoteForm()

    def refused(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return _render_detail(db.session.get(Dispute, dispute_id), note_form=form, status=400)

    if not form.validate_on_submit():
        return refused()
    return run_action(lambda: dsvc.add_note(current_user, d, form.note.data), refused=refused,
                      done="已记录本次调解情况。", back=url_for("disputes.detail", dispute_id=d.id) + "#notes")


@bp.route("/disputes/<int:dispute_id>/accept", methods=["POST"])
@login_required
def accept(dispute_id: int):
    d = _dispute(dispute_id)
    require(current_user, "disputes.manage")
    form = AcceptForm()

    def refused(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return _render_detail(db.session.get(Dispute, dispute_id), accept_form=form, status=400)

    if not form.validate_on_submit():
        return refused()
    return run_action(lambda: dsvc.accept(current_user, d, form.note.data or ""), refused=refused,
                      done="已受理调解申请，请记录每次调解的情况。", back=url_for("disputes.detail", dispute_id=d.id))


@bp.route("/disputes/<int:dispute_id>/decline", methods=["POST"])
@login_required
def decline(dispute_id: int):
    d = _dispute(dispute_id)
    require(current_user, "disputes.manage")
    form = DeclineForm()

    def refused(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return _render_detail(db.session.get(Dispute, dispute_id), decline_form=form, status=400)

    if not form.validate_on_submit():
        return refused()
    return run_action(lambda: dsvc.decline(current_user, d, form.reason.data or ""), refused=refused,
                      done="已作出不予受理的决定，申请人可以看到理由。", back=url_for("disputes.detail", dispute_id=d.id))


@bp.route("/disputes/<int:dispute_id>/evidence")
@login_required
def evidence(dispute_id: int):
    d = _dispute(dispute_id)
    if not d.evidence_key:
        abort(404)
    from exchange.uploads import send_stored
    return send_stored(d.evidence_key, d.evidence_filename, d.evidence_content_type, inline=True)


@bp.route("/disputes/<int:dispute_id>/close", methods=["POST"])
@login_required
def close(dispute_id: int):
    d = _dispute(dispute_id)
    require(current_user, "disputes.manage")
    form = CloseForm()

    def refused(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return _render_detail(db.session.get(Dispute, dispute_id), close_form=form, status=400)

    if not form.validate_on_submit():
        return refused()
    return run_action(lambda: dsvc.close(current_user, d, outcome=form.outcome.data or "", text=form.text.data,
                                         advice=form.advice.data or None, document=form.document.data or None),
                      refused=refused, done=lambda _: f"纠纷调解已结案：{d.state_label}。",
                      back=url_for("disputes.detail", dispute_id=d.id))


@bp.route("/disputes/<int:dispute_id>/document")
@login_required
def document(dispute_id: int):
    d = _dispute(dispute_id)
    if not d.document_key:
        abort(404)
    from exchange.uploads import send_stored
    return send_stored(d.document_key, d.document_filename, d.document_content_type, inline=True)
