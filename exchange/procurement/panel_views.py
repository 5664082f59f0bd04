"""Pages of a procurement project after its opening (issue 18): the evaluation panel — drawn by the trading officer,
the slips printed once, each expert scoring and signing on a phone through the slip's link and password — and the
award: the collective confirms the winner (another candidate with a reason, approved by the center), the
中标通知书 and the 评标报告 PDFs.  Thin: every rule is in :mod:`exchange.procurement.services` and
:mod:`~exchange.procurement.scoring`."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, TextAreaField
from wtforms.validators import Optional

from exchange.access import AccessDenied, can, require
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.pages import ActionForm, apply_service_error, run_action
from exchange.pdf import qr_data_uri
from exchange.procurement import documents, scoring
from exchange.procurement import services as psvc
from exchange.procurement.models import PanelMember

bp = Blueprint("panel", __name__)


class PasswordForm(FlaskForm):
    password = PasswordField("评分密码", validators=[Optional()])


class AwardForm(FlaskForm):
    registration_id = RadioField("中标人", validate_choice=False)
    reason = TextAreaField("确定其他中标候选人的理由", validators=[Optional()])


class DecideForm(FlaskForm):
    decision = RadioField("审批意见", choices=[("approve", "同意"), ("refuse", "不同意")], validate_choice=False)
    note = TextAreaField("意见", validators=[Optional()])


def _project(listing_id: int):
    listing = db.session.get(Listing, listing_id)
    project = psvc.project_of(listing) if listing is not None else None
    if project is None:
        abort(404)
    return listing, project


def _absolute(path: str) -> str:
    from flask import current_app
    base = (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
    return base + path


# --- the panel (the trading officer) ----------------------------------------------------------------------------------

@bp.route("/procurement/<int:listing_id>/panel")
@login_required
def panel(listing_id: int):
    require(current_user, "procurement.view")
    listing, project = _project(listing_id)
    return render_template("procurement/panel.html", listing=listing, project=project, panel=scoring.panel_of(listing),
                           may_draw=can(current_user, "procurement.evaluate"), form=ActionForm(),
                           bids=scoring.valid_bids(listing) if project.opened_at else [])


def _slips_page(listing, project, slips, status=200):
    shown = [dict(seq=s.member.seq, expert=s.member.expert, password=s.password,
                  url=_absolute(url_for("panel.sheet", token=s.token))) for s in slips]
    for s in shown:
        s["qr"] = qr_data_uri(s["url"])
    return render_template("procurement/slips.html", listing=listing, project=project, slips=shown), status


@bp.route("/procurement/<int:listing_id>/panel/draw", methods=["POST"])
@login_required
def draw(listing_id: int):
    require(current_user, "procurement.evaluate")
    listing, project = _project(listing_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        slips = scoring.draw_panel(current_user, listing)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("panel.panel", listing_id=listing_id))
    return _slips_page(listing, project, slips)  # shown once: the passwords are kept only as hashes


@bp.route("/procurement/<int:listing_id>/panel/<int:member_id>/slip", methods=["POST"])
@login_required
def new_slip(listing_id: int, member_id: int):
    require(current_user, "procurement.evaluate")
    listing, project = _project(listing_id)
    member = db.session.get(PanelMember, member_id)
    if member is None or member.panel.listing_id != listing.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        slip = scoring.new_slip(current_user, member)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("panel.panel", listing_id=listing_id))
    return _slips_page(listing, project, [slip])


# --- a member's sheet (the expert's phone; no account) ---------------------------------------------------------------

SESSION_KEY = "panel_member"


def _member_or_404(token: str) -> PanelMember:
    member = scoring.member_by_token(token)
    if member is None:
        abort(404)
    return member


def _opened_for(member: PanelMember) -> bool:
    held = session.get(SESSION_KEY) or {}
    return held.get("id") == member.id and held.get("t") == member.token_hash[:16]


def _scores_from_form(member: PanelMember) -> dict:
    project = psvc.project_of(member.panel.listing)
    out: dict = {}
    for bid in scoring.valid_bids(member.panel.listing):
        for c in project.criteria:
            name = f"score-{bid.id}-{c['key']}"
            if name in request.form:
                out.setdefault(bid.id, {})[c["key"]] = request.form.get(name, "")
    return out


@bp.route("/panel/<token>", methods=["GET", "POST"])
def sheet(token: str):
    member = _member_or_404(token)
    listing = member.panel.listing
    project = psvc.project_of(listing)
    form = PasswordForm()
    if not _opened_for(member):
        if request.method == "POST" and form.validate_on_submit():
            ok = scoring.attempt(member, form.password.data)
            db.session.commit()  # a wrong password counts, whatever follows
            if ok:
                session[SESSION_KEY] = {"id": member.id, "t": member.token_hash[:16]}
                return redirect(url_for("panel.sheet", token=token))
            form.password.errors = [scoring.password_problem(member)]
        return render_template("procurement/sheet_login.html", member=member, listing=listing, project=project,
                               form=form), (400 if request.method == "POST" else 200)
    errors: dict[str, str] = {}
    typed = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        typed = {f"score-{b}-{k}": v for b, row in _scores_from_form(member).items() for k, v in row.items()}
        try:
            scoring.save_scores(member, _scores_from_form(member))
            if request.form.get("go") == "sign":
                if not scoring.attempt(member, form.password.data):
                    db.session.commit()
                    raise ServiceError(scoring.password_problem(member), "password")
                scoring.sign_sheet(member, form.password.data)
            db.session.commit()
            flash("评分表已签署提交，不能再修改。谢谢！" if member.signed_at else "已保存，可以继续打分，全部打完后签署提交。",
                  "success")
            return redirect(url_for("panel.sheet", token=token))
        except ServiceError as exc:
            db.session.rollback()
            if exc.field == "password":
                form.password.errors = [exc.message]
            elif exc.field:
                errors[exc.field] = exc.message
            else:
                form.form_errors.append(exc.message)
    have = scoring.sheet(member)
    return render_template("procurement/sheet.html", member=member, listing=listing, project=project, form=form,
                           bids=scoring.valid_bids(listing), have=have, typed=typed, errors=errors,
                           missing=scoring.missing(member) if not member.signed_at else []), \
        (400 if request.method == "POST" else 200)


@bp.route("/panel/<token>/leave", methods=["POST"])
def leave(token: str):
    _member_or_404(token)
    if not ActionForm().validate_on_submit():
        abort(400)
    session.pop(SESSION_KEY, None)
    flash("已退出评分表。", "success")
    return redirect(url_for("panel.sheet", token=token))


# --- the award (the collective; the center approves another candidate) ----------------------------------------------

def _may_see_award(listing) -> bool:
    return psvc._may_award(current_user, listing) or can(current_user, "procurement.view") or \
        can(current_user, "procurement.approve_award", listing.org)


@bp.route("/procurement/<int:listing_id>/award", methods=["GET", "POST"])
@login_required
def award(listing_id: int):
    listing, project = _project(listing_id)
    if not _may_see_award(listing):
        raise AccessDenied("您没有权限查看该项目的定标。")
    form = AwardForm()
    ranked = psvc.candidates(project)
    form.registration_id.choices = [(str(c["registration"]), f"第{c['rank']}名 {c['supplier']}") for c in ranked]
    if request.method == "GET" and ranked:
        form.registration_id.data = str(ranked[0]["registration"])

    def page(status=200):
        from exchange.trading.services import deal_for
        return render_template("procurement/award.html", listing=listing, project=project, ranked=ranked, form=form,
                               deal=deal_for(listing),
                               decide=DecideForm(), pending=psvc.award_pending(project),
                               may_award=psvc._may_award(current_user, listing),
                               may_decide=can(current_user, "procurement.approve_award", listing.org)), status

    if request.method == "GET":
        return page()
    if not psvc._may_award(current_user, listing):
        raise AccessDenied("只有采购人（或代其办理的村交易点、交易中心）可以确定中标人。")

    def refused(exc):
        apply_service_error(form, exc)
        return page(400)

    return run_action(lambda: psvc.award(current_user, listing, form.registration_id.data, form.reason.data or ""),
                      form=form, refused=refused, back=url_for("panel.award", listing_id=listing_id),
                      done=lambda p: ("已确定中标人，中标通知书已发出，合同草稿已生成。" if p.state == "awarded"
                                      else "已提交确定其他中标候选人的申请，等待交易中心批准。"))


@bp.route("/procurement/<int:listing_id>/award/decide", methods=["POST"])
@login_required
def decide(listing_id: int):
    listing, project = _project(listing_id)
    require(current_user, "procurement.approve_award", listing.org)
    form = DecideForm()
    approve = form.decision.data == "approve"
    return run_action(lambda: psvc.decide_award(current_user, listing, approve, form.note.data or ""), form=form,
                      invalid="请选择审批意见。", back=url_for("panel.award", listing_id=listing_id),
                      done="已同意，中标通知书已发出。" if approve else "已退回采购人重新确定中标人。")


# --- documents --------------------------------------------------------------------------------------------------------

def _pdf(data: bytes, filename: str):
    from flask import Response
    from exchange.uploads import content_disposition
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(filename, inline=True)})


@bp.route("/procurement/<int:listing_id>/notice.pdf")
@login_required
def notice_pdf(listing_id: int):
    listing, project = _project(listing_id)
    if project.awarded_at is None:
        abort(404)
    winner = project.winner.buyer_id if project.winner else None
    if current_user.id != winner and not _may_see_award(listing):
        raise AccessDenied("您没有权限查看该中标通知书。")
    return _pdf(documents.notice_pdf(listing), f"中标通知书-{project.notice_no}.pdf")


@bp.route("/procurement/<int:listing_id>/report.pdf")
@login_required
def report_pdf(listing_id: int):
    listing, project = _project(listing_id)
    if project.evaluated_at is None:
        abort(404)
    if not _may_see_award(listing):
        raise AccessDenied("您没有权限查看该评标报告。")
    return _pdf(documents.report_pdf(listing), f"评标报告-{listing.project_no}.pdf")

