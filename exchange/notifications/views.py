"""我的通知: every signed-in person's own notifications and what was sent to them by e-mail and SMS."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from exchange.extensions import db
from exchange.inputs import arg_page, parse_page
from exchange.notifications import services as nsvc
from exchange.notifications.models import Notification

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.app_context_processor
def _bell():
    """``notifications_unread()`` for the header's bell: queried only when a page calls it."""
    return {"notifications_unread": lambda: nsvc.unread_count(current_user)}


@bp.route("/")
@login_required
def index():
    unread_only = request.args.get("show") == "unread"
    stmt = nsvc.own_stmt(current_user, unread_only).options(selectinload(Notification.deliveries))
    page = db.paginate(stmt, page=arg_page(), per_page=30, error_out=False)
    return render_template("notifications/index.html", page=page, unread_only=unread_only,
                           unread=nsvc.unread_count(current_user), channel_labels=nsvc.CHANNEL_LABELS,
                           status_labels=nsvc.DELIVERY_STATUS_LABELS)


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    """Mark one read; with ``go=1`` then open what it is about."""
    n = nsvc.get_own(current_user, notification_id)
    if n is None:
        abort(404)
    nsvc.mark_read(current_user, n)
    link = nsvc.safe_link(n.link)
    db.session.commit()
    if request.form.get("go") == "1" and link:
        return redirect(link)
    page = parse_page(request.form.get("page")) if request.form.get("page") else None
    return redirect(url_for("notifications.index", page=page))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    n = nsvc.mark_all_read(current_user)
    db.session.commit()
    flash(f"已将 {n} 条通知标为已读。" if n else "没有未读通知。", "success")
    return redirect(url_for("notifications.index"))
