"""我的通知 over the API: the caller's own notifications with what was sent on each channel, and marking
them read.  Nobody reads or marks anyone else's (another person's notification is answered 404)."""
from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy.orm import selectinload

from exchange.api.common import PageArgs, make_blueprint, not_found, perform, require_login
from exchange.extensions import db
from exchange.notifications import services as nsvc
from exchange.notifications.models import Notification

blp = make_blueprint("api_notifications", "/notifications", "我的通知：站内通知及短信、邮件发送情况")


class DeliverySchema(Schema):
    channel = fields.String(metadata={"description": "email / sms"})
    address = fields.String(metadata={"description": "发送地址（已部分隐藏）"})
    status = fields.String(metadata={"description": "pending 待发送 / sent 已发送 / failed 发送失败 / skipped 未发送"})
    status_label = fields.String()
    attempts = fields.Integer()
    sent_at = fields.DateTime(allow_none=True)


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "通知类别，如 registration.qualified、deposit.due"})
    title = fields.String()
    body = fields.String()
    link = fields.String(metadata={"description": "平台内的相关页面路径"})
    listing_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    deliveries = fields.List(fields.Nested(DeliverySchema))


class NotificationArgs(PageArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "true：只列未读"})


class NotificationPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    total = fields.Integer()
    unread = fields.Integer(metadata={"description": "未读通知数"})
    page = fields.Integer()
    per_page = fields.Integer()


@blp.route("")
@blp.arguments(NotificationArgs, location="query")
@blp.response(200, NotificationPageSchema)
def list_own(args):
    """我的通知（新在前），含每条通知的短信、邮件发送情况"""
    user = require_login()
    stmt = nsvc.own_stmt(user, args["unread"]).options(selectinload(Notification.deliveries))
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "unread": nsvc.unread_count(user), "page": page.page,
            "per_page": page.per_page}


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def mark_read(notification_id):
    """将本人的一条通知标为已读"""
    user = require_login()
    n = nsvc.get_own(user, notification_id)
    if n is None:
        raise not_found("通知")
    return perform(nsvc.mark_read, user, n)
