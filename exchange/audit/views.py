"""The audit trail page (admin and supervisor): recent entries and the chain's status."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange.access import require
from exchange.audit import services as audit
from exchange.audit.models import AuditEntry
from exchange.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@login_required
def index():
    require(current_user, "audit.view")
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    action = (request.args.get("action") or "").strip()[:60]
    q = (request.args.get("q") or "").strip()[:60]
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if q:
        stmt = stmt.where(AuditEntry.summary.contains(q, autoescape=True)
                          | AuditEntry.actor_name.contains(q, autoescape=True))
    page = db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=50, error_out=False)
    return render_template("audit/index.html", page=page, result=audit.verify(), action=action, q=q)
