"""鉴证书 pages: the center's queue and issue/revoke page, the PDF download, the public verification page
(/verify/<number>, and /verify where anyone types the number printed on a certificate) and the listing archive
download (/listings/<id>/archive.zip)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.accounts.models import Role
from exchange.certificates import services as csvc
from exchange.certificates.models import Certificate
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.pages import ActionForm, run_action
from exchange.trading.models import Deal

bp = Blueprint("certificates", __name__, url_prefix="/certificates")
public_bp = Blueprint("certificates_public", __name__)

VERIFY_MAX_BYTES = 10 * 1024 * 1024


def _may_view(user) -> bool:
    return can(user, "certificates.issue") or can(user, "archive.download")


def _is_party(user, deal: Deal) -> bool:
    if user is None or not user.is_authenticated or user.role != Role.PUBLIC:
        return False
    return deal.buyer_id == user.id or deal.listing.transferor_user_id == user.id


@bp.route("/")
@login_required
def index():
    if not _may_view(current_user):
        raise AccessDenied("您没有权限查看鉴证书。")
    from exchange.settlement.models import Settlement
    waiting = db.session.execute(
        select(Deal, Settlement).join(Listing, Listing.id == Deal.listing_id)
        .outerjoin(Settlement, Settlement.deal_id == Deal.id)
        .where(Listing.state == "certification").order_by(Settlement.certificate_due_at)).all()
    certs = db.session.scalars(select(Certificate).order_by(Certificate.id.desc()).limit(100)).all()
    return render_template("certificates/index.html", waiting=waiting, certs=certs, now=clock.now(),
                           may_issue=can(current_user, "certificates.issue"))


def _deal(deal_id: int) -> Deal:
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        abort(404)
    return deal


@bp.route("/deals/<int:deal_id>")
@login_required
def deal_page(deal_id: int):
    if not _may_view(current_user):
        raise AccessDenied("您没有权限查看鉴证书。")
    deal = _deal(deal_id)
    return _render_deal(deal)


def _render_deal(deal: Deal, status: int = 200, problems: list[str] | None = None):
    certs = csvc.certificates_of(deal)
    valid = next((c for c in certs if c.state == "valid"), None)
    missing = csvc.missing(deal) if valid is None else []
    settlement = csvc.settlement_of(deal)
    return render_template("certificates/deal.html", deal=deal, listing=deal.listing, certs=certs, valid=valid,
                           missing=problems if problems is not None else missing, settlement=settlement,
                           contract=csvc.contract_of(deal), now=clock.now(),
                           may_issue=can(current_user, "certificates.issue")), status


@bp.route("/deals/<int:deal_id>/issue", methods=["POST"])
@login_required
def issue(deal_id: int):
    require(current_user, "certificates.issue")  # who asks first, then what was sent
    deal = _deal(deal_id)

    def refused(exc):  # the deal's page again, with what is still missing
        flash(exc.message, "error")
        return _render_deal(db.session.get(Deal, deal_id), 409, getattr(exc, "problems", None))

    return run_action(lambda: csvc.issue(current_user, deal), form=ActionForm(), refused=refused,
                      done=lambda cert: f"已出具鉴证书 {cert.cert_no}。",
                      back=url_for("certificates.deal_page", deal_id=deal_id))


@bp.route("/<int:cert_id>/revoke", methods=["POST"])
@login_required
def revoke(cert_id: int):
    require(current_user, "certificates.issue")
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        abort(404)
    deal_id = cert.deal_id

    def refused(exc):
        flash(exc.message, "error")
        return _render_deal(db.session.get(Deal, deal_id), 400, [])

    return run_action(lambda: csvc.revoke(current_user, cert, request.form.get("reason", "")), form=ActionForm(),
                      refused=refused, done=lambda _: f"已撤销鉴证书 {cert.cert_no}。可重新出具更正后的鉴证书（新编号）。",
                      back=url_for("certificates.deal_page", deal_id=deal_id))


@bp.route("/<int:cert_id>.pdf")
@login_required
def pdf(cert_id: int):
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        abort(404)
    if not (_may_view(current_user) or _is_party(current_user, cert.deal)):
        raise AccessDenied("鉴证书仅限交易双方和交易中心工作人员下载。")
    from exchange.uploads import send_stored
    return send_stored(cert.pdf_key, f"鉴证书{cert.year}-{cert.seq:06d}.pdf", "application/pdf", inline=True)


# --- public verification ------------------------------------------------------------------------------

def _not_found():
    return render_template("errors/404.html", code=404, title="未找到该鉴证书",
                           message="未找到该编号的鉴证书。鉴证书编号形如“临农交鉴〔2026〕第000123号”，请核对后重试；"
                                   "如有疑问，请致电临湘市农村产权交易中心。"), 404


@public_bp.route("/verify")
def verify_form():
    """核验鉴证书: the number printed on the certificate (in any of its forms: 临农交鉴〔2026〕第000123号, 2026-000123)
    leads to its verification page; the QR code links there directly."""
    number = (request.args.get("number") or "").strip()[:60]
    error, status = None, 200
    if number:
        cert = csvc.find(number)
        if cert is not None:
            return redirect(url_for("certificates_public.verify", number=csvc.short_number(cert.cert_no)))
        error, status = (f"没有找到编号为“{number}”的鉴证书。请核对鉴证书右上方的编号，形如“临农交鉴〔2026〕第000123号”"
                         f"或“2026-000123”；如有疑问，请致电临湘市农村产权交易中心。"), 404
    return render_template("certificates/verify_form.html", number=number, error=error), status


@public_bp.route("/verify/<path:number>", methods=["GET", "POST"])
def verify(number: str):
    cert = csvc.find(number)
    if cert is None:
        return _not_found()
    result, error, status = None, None, 200
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        upload = request.files.get("file")
        data = upload.stream.read(VERIFY_MAX_BYTES + 1) if upload else b""
        if not data:
            error, status = "请选择要核验的鉴证书 PDF 文件。", 400
        elif len(data) > VERIFY_MAX_BYTES:
            error, status = "文件超过 10 MB，不是本平台出具的鉴证书。", 400
        else:
            result = csvc.check_upload(cert, data)
    f = csvc.facts(cert.deal, cert.cert_no, cert.issued_at, public=True)
    replaced_by = db.session.scalar(select(Certificate).where(Certificate.replaces_id == cert.id))
    replaces = db.session.get(Certificate, cert.replaces_id) if cert.replaces_id else None
    return render_template("certificates/verify.html", cert=cert, f=f, result=result, error=error,
                           replaced_by=replaced_by, replaces=replaces), status

