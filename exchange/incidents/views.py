"""终结 and 中止/重启 pages: the center's reviewer decides them with the approving document; parties apply for a
restart."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from exchange.access import require
from exchange.incidents import termination as xsvc
from exchange.incidents import suspension
from exchange.incidents.models import SUSPENSION_GROUNDS, TERMINATION_GROUNDS, Suspension
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.pages import apply_service_error, run_action

bp = Blueprint("exceptions", __name__, url_prefix="/listings")


class TerminateForm(FlaskForm):
    ground = SelectField("终结情形（第二十四条）", choices=list(TERMINATION_GROUNDS.items()))
    basis = TextAreaField("终结依据（批准或通知文件的机关、文号和主要内容）", validators=[Optional(), Length(max=2000)])
    document = FileField("批准文件或法院通知书扫描件（PDF、JPG 或 PNG）")


@bp.route("/<int:listing_id>/terminate", methods=["GET", "POST"])
@login_required
def terminate(listing_id: int):
    return _decision_page(
        listing_id, "listings.terminate", TerminateForm, xsvc.terminate, TERMINATE_PAGE,
        lambda t: f"已终结交易，{t.refunds_opened} 笔保证金转入退款（5 个工作日内退还）。",
        lambda listing: url_for("listings.detail", listing_id=listing.id))


TERMINATE_PAGE = {
    "title": "终结交易", "button": "终结交易", "confirm": "确认终结该项目的交易？此操作不能撤销。",
    "note": "终结后本项目不再交易：已安排的竞价取消，成交和合同作废，已交保证金的意向受让方全部转入退款"
            "（5 个工作日内不计利息退还）；正在结算的，未登记的划付取消，已收的服务费退回，受让方已付的价款经财务两人"
            "复核后退还。交易收益已经划付的不能终结，请登记纠纷调解（第二十七条）。此操作不能撤销。"}
SUSPEND_PAGE = {
    "title": "中止交易", "button": "中止交易", "confirm": "确认中止该项目的交易？",
    "note": "中止后，本项目所有正在计算的期限（公告期、保证金截止、竞价倒计时、交易公示、签约、结算、鉴证）全部暂停，"
            "剩余时间记录在案；交易相关方申请、交易中心认定重启后，按剩余时间继续。中止期间不能报价、不能交款；"
            "已在办理的退款照常办理。"}


def _decision_page(listing_id: int, action: str, form_cls, service, page: dict, done, target):
    """A center decision on one of an article's grounds with its document (终结, 中止): the form, the service,
    the message (``done(result)``) and where to go after it (``target(listing)``)."""
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    require(current_user, action, listing.org)
    form = form_cls()

    def shown(status: int = 200):
        return render_template("incidents/decision.html", listing=listing, form=form, page=page), status

    def refused(exc):
        apply_service_error(form, exc)
        return shown(400)

    if not form.validate_on_submit():
        return shown(400 if request.method == "POST" else 200)
    return run_action(lambda: service(current_user, listing, ground=form.ground.data, basis=form.basis.data or "",
                                      document=form.document.data or None),
                      refused=refused, done=done, back=url_for(request.endpoint, listing_id=listing.id),
                      then=lambda _: target(listing))


# --- 中止 / 重启 (第二十三条) --------------------------------------------------------------------------

class SuspendForm(FlaskForm):
    ground = SelectField("中止情形（第二十三条）", choices=list(SUSPENSION_GROUNDS.items()))
    basis = TextAreaField("中止依据（提出或批准的机关、文号和主要理由）", validators=[Optional(), Length(max=2000)])
    document = FileField("提出或批准中止的文件扫描件（PDF、JPG 或 PNG）")


class RestartApplyForm(FlaskForm):
    reason = TextAreaField("申请重启的理由（中止情形已消除的依据）", validators=[Optional(), Length(max=2000)])


class RestartDecideForm(FlaskForm):
    decision = TextAreaField("认定意见", validators=[Optional(), Length(max=2000)])
    approve = SelectField("认定结果", choices=[("yes", "符合重启条件，重启交易"), ("no", "不符合重启条件，继续中止")])


def _listing_or_404(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    return listing


@bp.route("/<int:listing_id>/suspend", methods=["GET", "POST"])
@login_required
def suspend(listing_id: int):
    return _decision_page(
        listing_id, "listings.suspend", SuspendForm, suspension.suspend, SUSPEND_PAGE,
        lambda s: f"已中止交易，{len(suspension.frozen_clocks(s))} 项期限已冻结；重启后按剩余时间继续。",
        lambda listing: url_for("exceptions.suspension_page", listing_id=listing.id))


def _may_view_suspension(listing: Listing) -> bool:
    from exchange.access import can
    return can(current_user, "listings.view", listing.org) or suspension.may_apply_restart(current_user, listing)


@bp.route("/<int:listing_id>/suspension")
@login_required
def suspension_page(listing_id: int):
    listing = _listing_or_404(listing_id)
    if not _may_view_suspension(listing):
        abort(403)
    return _render_suspension(listing)


def _render_suspension(listing: Listing, *, apply_form=None, decide_form=None, status: int = 200):
    from exchange.access import can
    current = suspension.open_suspension(listing)
    past = [s for s in suspension.suspensions_of(listing) if current is None or s.id != current.id]
    return render_template(
        "incidents/suspension.html", listing=listing, current=current, past=past,
        rows=suspension.frozen_rows(current) if current else [],
        can_apply=current is not None and current.state == "active"
        and suspension.may_apply_restart(current_user, listing),
        can_decide=current is not None and current.state == "restart_requested"
        and can(current_user, "listings.suspend", listing.org),
        apply_form=apply_form or RestartApplyForm(), decide_form=decide_form or RestartDecideForm(),
        past_rows={s.id: suspension.frozen_rows(s) for s in past}), status


def _back(listing: Listing) -> str:
    return url_for("exceptions.suspension_page", listing_id=listing.id)


@bp.route("/<int:listing_id>/suspension/apply", methods=["POST"])
@login_required
def restart_apply(listing_id: int):
    listing = _listing_or_404(listing_id)
    if not _may_view_suspension(listing):
        abort(403)
    suspension.authorise_restart_apply(current_user, listing)  # a reader who may not apply: refused before the form
    form = RestartApplyForm()

    def refused(exc=None):  # the page again with the form, the refusal next to its field
        if exc is not None:
            apply_service_error(form, exc)
        return _render_suspension(listing, apply_form=form, status=400)

    if not form.validate_on_submit():
        return refused()
    return run_action(lambda: suspension.apply_restart(current_user, listing, reason=form.reason.data or ""),
                      refused=refused, done="重启申请已提交，交易中心认定后将通知各方。", back=_back(listing))


@bp.route("/<int:listing_id>/suspension/decide", methods=["POST"])
@login_required
def restart_decide(listing_id: int):
    """The center's 认定 of a restart application: one decision (restart / stay suspended) of one service."""
    listing = _listing_or_404(listing_id)
    require(current_user, "listings.suspend", listing.org)
    form = RestartDecideForm()
    approve = form.approve.data == "yes"

    def refused(exc=None):  # the page again with the form, the refusal next to its field
        if exc is not None:
            apply_service_error(form, exc)
        return _render_suspension(listing, decide_form=form, status=400)

    if not form.validate_on_submit():
        return refused()
    return run_action(lambda: suspension.decide_restart(current_user, listing, approve=approve,
                                                        decision=form.decision.data or ""),
                      refused=refused, back=_back(listing),
                      done="已重启交易，各项期限按剩余时间重新计算。" if approve else "已认定不符合重启条件，交易继续中止。")


@bp.route("/<int:listing_id>/suspension/<int:suspension_id>/document")
@login_required
def suspension_document(listing_id: int, suspension_id: int):
    listing = _listing_or_404(listing_id)
    from exchange.access import can
    if not can(current_user, "listings.view", listing.org):
        abort(403)
    s = db.session.get(Suspension, suspension_id)
    if s is None or s.listing_id != listing.id or not s.document_key:
        abort(404)
    from exchange.uploads import send_stored
    return send_stored(s.document_key, s.document_filename, s.document_content_type)
