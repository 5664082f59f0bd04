"""The audit trail: entries and chain verification (admin, supervisor)."""
from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import select

from exchange.access import require
from exchange.api.common import Id, PageArgs, make_blueprint, require_login
from exchange.audit import services as audit
from exchange.audit.models import AuditEntry
from exchange.extensions import db

blp = make_blueprint("api_audit", "/audit", "审计日志（只增不改、哈希链防篡改）")


class EntrySchema(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    actor_role = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    action = fields.String()
    object_type = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    summary = fields.String()
    before = fields.String(allow_none=True, metadata={"description": "变更前（JSON 文本）"})
    after = fields.String(allow_none=True, metadata={"description": "变更后（JSON 文本）"})
    hash = fields.String()


class EntryArgs(PageArgs):
    object_type = fields.String(load_default=None)
    object_id = fields.String(load_default=None)
    action = fields.String(load_default=None)
    actor_id = Id(load_default=None)


class EntryPageSchema(Schema):
    items = fields.List(fields.Nested(EntrySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class VerifySchema(Schema):
    ok = fields.Boolean()
    count = fields.Integer()
    broken_seq = fields.Integer(allow_none=True)
    message = fields.String()


@blp.route("/entries")
@blp.arguments(EntryArgs, location="query")
@blp.response(200, EntryPageSchema)
def entries(args):
    """审计记录（新在前）"""
    require(require_login(), "audit.view")
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    for key in ("object_type", "object_id", "action", "actor_id"):
        if args.get(key) is not None:
            stmt = stmt.where(getattr(AuditEntry, key) == args[key])
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}


@blp.route("/verify")
@blp.response(200, VerifySchema)
def verify():
    """校验审计链完整性"""
    require(require_login(), "audit.view")
    result = audit.verify()
    return {"ok": result.ok, "count": result.count, "broken_seq": result.broken_seq, "message": result.message()}
