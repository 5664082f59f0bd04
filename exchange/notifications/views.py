"""我的通知: every signed-in person's own notifications and what was sent to them by e-mail and SMS."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from exchange.extensions import db
from exchange.inputs import arg_page, parse_page
from exchange.notifications import services as nsvc
from exchange.notifications.models import Notification
from exchange.pages import run_action

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
                           unread=nsvc.unread_count(current_user), channel_labels=nsvc.CHANNEL_LABELS)


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    """Mark one read; with ``go=1`` then open what it is about."""
    n = nsvc.get_own(current_user, notification_id)
    if n is None:
        abort(404)
    link = nsvc.safe_link(n.link)
    page = parse_page(request.form.get("page")) if request.form.get("page") else None
    back = url_for("notifications.index", page=page)
    return run_action(lambda: nsvc.mark_read(current_user, n), done=None, back=back,
                      then=lambda _: link if request.form.get("go") == "1" and link else back)


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    return run_action(lambda: nsvc.mark_all_read(current_user), back=url_for("notifications.index"),
                      done=lambda n: f"已将 {n} 条通知标为已读。" if n else "没有未读通知。")
