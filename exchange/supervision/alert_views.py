"""监督预警 pages: the list with filters, one warning with its facts and the way to the case, and the center
reviewer's 知悉 / 处理结果.  The supervisor sees everything, read-only (``alerts.view``); only the center's
reviewer records (``alerts.handle``)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from exchange.access import AccessDenied, can, require
from exchange.accounts.models import User
from exchange.extensions import db
from exchange.inputs import arg_page
from exchange.supervision import alerts as svc
from exchange.supervision.models import ALERT_KINDS, ALERT_STATES, SupervisionAlert
from exchange.pages import apply_service_error, run_action

bp = Blueprint("alerts", __name__, url_prefix="/supervision/alerts")

PER_PAGE = 30


class AcknowledgeForm(FlaskForm):
    note = TextAreaField("说明（可不填）", validators=[Optional(), Length(max=svc.NOTE_MAX)])


class ResolveForm(FlaskForm):
    resolution = TextAreaField("处理结果（如何核实、采取了哪些措施）", validators=[Length(max=svc.NOTE_MAX)])


@bp.route("/")
@login_required
def index():
    require(current_user, "alerts.view")
    args = request.args
    try:
        flt = svc.AlertFilter.parse(args.get("kind"), args.get("state"), args.get("severity"), args.get("from"),
                                    args.get("to"))
    except svc.FilterError as exc:
        abort(400, description=exc.message)
    page = db.paginate(flt.statement(), page=arg_page(), per_page=PER_PAGE, error_out=False)
    return render_template("supervision/alerts.html", page=page, flt=flt, kinds=ALERT_KINDS, states=ALERT_STATES,
                           severities=svc.SEVERITIES, counts=svc.counts(),
                           params={"kind": flt.kind, "state": flt.state, "severity": flt.severity,
                                   "from": args.get("from") or None, "to": args.get("to") or None})


def _alert_or_404(alert_id: int) -> SupervisionAlert:
    alert = db.session.get(SupervisionAlert, alert_id)
    if alert is None:
        abort(404)
    return alert


def _may(check) -> bool:
    try:
        check()
    except AccessDenied:
        return False
    return True


def case_links(alert: SupervisionAlert, details: dict) -> list[tuple[str, str]]:
    """Where the case behind a warning can be opened — only the pages the viewer may open."""
    from exchange.contracts import services as csvc
    from exchange.contracts.models import Contract
    from exchange.settlement import services as stl
    from exchange.settlement.models import Settlement
    from exchange.trading.models import Deal
    links: list[tuple[str, str]] = []
    listing = alert.listing
    if listing is not None and can(current_user, "listings.view", listing.org):
        links.append((f"挂牌项目 {listing.project_no or listing.title}", url_for("listings.detail",
                                                                               listing_id=listing.id)))
    deal = None
    if details.get("deal_id"):
        deal = db.session.get(Deal, details["deal_id"])
    elif details.get("deal_no"):
        deal = db.session.scalar(select(Deal).where(Deal.deal_no == details["deal_no"]))
    if deal is not None:
        links.append((f"成交公示 {deal.deal_no}", url_for("publicity.deal", deal_no=deal.deal_no)))
        contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
        if contract is not None and _may(lambda: csvc.require_view(current_user, contract)):
            links.append(("合同", url_for("contracts.detail", contract_id=contract.id)))
        settlement = db.session.scalar(select(Settlement).where(Settlement.deal_id == deal.id))
        if settlement is not None and _may(lambda: stl.require_view(current_user, settlement)):
            links.append(("资金结算", url_for("settlement.detail", settlement_id=settlement.id)))
        if details.get("clock") == "certificate" and (can(current_user, "certificates.issue")
                                                      or can(current_user, "archive.download")):
            links.append(("鉴证书", url_for("certificates.deal_page", deal_id=deal.id)))
    if details.get("refund_id") and can(current_user, "ledger.view"):
        links.append((f"退款 #{details['refund_id']}", url_for("ledger.refund", refund_id=details["refund_id"])))
    for item in details.get("deals", []) if alert.kind == "repeat_winner" else []:
        if item.get("listing_id") and (listing is None or item["listing_id"] != listing.id):
            links.append((f"挂牌项目 {item.get('project_no') or item['listing_id']}",
                          url_for("listings.detail", listing_id=item["listing_id"])))
    for item in details.get("failures", []) if alert.kind == "repeated_failure" else []:
        if listing is None or item.get("listing_id") != listing.id:
            links.append((f"流拍项目 {item.get('project_no') or item['listing_id']}",
                          url_for("listings.detail", listing_id=item["listing_id"])))
    if alert.kind == "shared_contact" and listing is not None and can(current_user, "listings.view", listing.org):
        for b in details.get("buyers", []):
            links.append((f"报名 {b.get('bidder_no') or '#' + str(b.get('registration_id'))}（{b.get('name', '')}）",
                          url_for("registrations.detail", reg_id=b["registration_id"])))
    return links


FACT_LABELS = {
    "clock_label": "法定期限", "project_no": "项目编号", "deal_no": "成交编号", "due_at": "应完成时间",
    "state": "当前状态", "amount": "金额（元）", "price": "成交价（元）", "appraisal": "评估价（元）",
    "floor_price": "底价（元）", "percent_of_appraisal": "成交价为评估价的（%）", "threshold": "预警线",
    "concluded_at": "成交时间", "contact_label": "共用的联系方式", "value": "号码 / 地址 / 账号（已脱敏）",
    "buyer": "受让方", "count": "次数", "days": "统计期（天）",
}
STATE_WORDS = {"draft": "草稿", "awaiting": "待付款", "paid": "价款已到账",
               "pending": "待登记转账", "recorded": "待复核"}


def _when(value) -> str:
    from datetime import datetime

    from exchange.workdays.display import fmt_due
    try:
        return fmt_due(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return str(value or "")


def facts(details: dict) -> list[tuple[str, str]]:
    """The warning's facts as label / text pairs a clerk reads (lists are shown as tables)."""
    out = []
    for key, label in FACT_LABELS.items():
        value = details.get(key)
        if value in (None, ""):
            continue
        if key in ("due_at", "concluded_at"):
            value = _when(value)
        elif key == "state":
            value = STATE_WORDS.get(value, value)
        out.append((label, str(value)))
    return out


def _render(alert: SupervisionAlert, ack_form=None, resolve_form=None, status: int = 200):
    details = svc.details_of(alert)
    for key in ("deals", "failures"):
        for item in details.get(key, []) or []:
            for k in ("concluded_at", "failed_at"):
                if item.get(k):
                    item[k] = _when(item[k])
    names = {}
    ids = [i for i in (alert.acknowledged_by_id, alert.resolved_by_id) if i]
    if ids:
        names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
    return render_template(
        "supervision/alerts_detail.html", alert=alert, details=details, facts=facts(details),
        links=case_links(alert, details),
        names=names, severities=svc.SEVERITIES, may_handle=can(current_user, "alerts.handle"),
        ack_form=ack_form or AcknowledgeForm(), resolve_form=resolve_form or ResolveForm()), status


@bp.route("/<int:alert_id>")
@login_required
def detail(alert_id: int):
    require(current_user, "alerts.view")
    return _render(_alert_or_404(alert_id))


def _handle(alert_id: int, form, form_name: str, action, done: str):
    """知悉 / 处理结果 of one warning: a refusal shown next to its field on the warning's page again (400)."""
    def refused(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return _render(_alert_or_404(alert_id), **{form_name: form}, status=400)

    if not form.validate_on_submit():
        return refused()
    return run_action(action, refused=refused, done=done, back=url_for("alerts.detail", alert_id=alert_id))


@bp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(alert_id: int):
    require(current_user, "alerts.handle")
    alert = _alert_or_404(alert_id)
    form = AcknowledgeForm()
    return _handle(alert_id, form, "ack_form", lambda: svc.acknowledge(current_user, alert, form.note.data or ""),
                   "已标记为已知悉。处理完毕后请记录处理结果。")


@bp.route("/<int:alert_id>/resolve", methods=["POST"])
@login_required
def resolve(alert_id: int):
    require(current_user, "alerts.handle")
    alert = _alert_or_404(alert_id)
    form = ResolveForm()
    return _handle(alert_id, form, "resolve_form", lambda: svc.resolve(current_user, alert, form.resolution.data or ""),
                   "处理结果已记录。")
