"""监督预警 over the API: list (filters), read, acknowledge, resolve.

Reading: ``alerts.view`` (the center's reviewer and admin, 监管); acting: ``alerts.handle`` (the center's
reviewer).  The same services as the pages (:mod:`exchange.supervision.alerts`).  Details are stored masked.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from exchange.access import require
from exchange.api.common import ApiError, PageArgs, make_blueprint, not_found, perform, require_login
from exchange.api.common import authorise
from exchange.extensions import db
from exchange.supervision import alerts as svc
from exchange.supervision.models import SupervisionAlert

blp = make_blueprint("api_alerts", "/supervision/alerts", "监督预警（第六条、第二十五条）")


class AlertSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "overdue 法定期限逾期 / low_price 成交价明显低于评估价 / "
                                                  "shared_contact 竞买人共用电话、IP 或银行账户 / repeat_winner "
                                                  "同一受让方多次无竞争成交 / repeated_failure 同一标的多次流拍"})
    kind_label = fields.String()
    subject = fields.String(metadata={"description": "预警对象标识（同一对象再次发现时不会新增）"})
    listing_id = fields.Integer(allow_none=True)
    project_no = fields.Function(lambda a: a.listing.project_no if a.listing else None)
    severity = fields.String(metadata={"description": "high 高 / medium 中 / low 低"})
    summary = fields.String()
    details = fields.Function(lambda a: svc.details_of(a), metadata={"description": "事实依据（个人信息已脱敏）"})
    state = fields.String(metadata={"description": "open 待处理 / acknowledged 已知悉 / resolved 已处理"})
    state_label = fields.String()
    detected_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    acknowledged_by_id = fields.Integer(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledge_note = fields.String()
    resolved_by_id = fields.Integer(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String()


class AlertPageSchema(Schema):
    items = fields.List(fields.Nested(AlertSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class AlertArgs(PageArgs):
    kind = fields.String(load_default=None, metadata={"description": "预警类型（见 kind）；不填为全部"})
    state = fields.String(load_default=None, metadata={"description": "open / acknowledged / resolved；不填为全部"})
    severity = fields.String(load_default=None, metadata={"description": "high / medium / low；不填为全部"})
    date_from = fields.String(load_default=None, data_key="from",
                              metadata={"description": "发现日期起（北京时间，YYYY-MM-DD）"})
    date_to = fields.String(load_default=None, data_key="to", metadata={"description": "发现日期止（含当日）"})


class AcknowledgeInSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=svc.NOTE_MAX),
                         metadata={"description": "说明（可空，最多 2000 字）"})


class ResolveInSchema(Schema):
    resolution = fields.String(required=True, validate=validate.Length(max=svc.NOTE_MAX),
                               metadata={"description": "处理结果（2–2000 字）"})


def _viewer():
    user = require_login()
    require(user, "alerts.view")
    return user


def _alert(alert_id: int) -> SupervisionAlert:
    alert = db.session.get(SupervisionAlert, alert_id)
    if alert is None:
        raise not_found("预警")
    return alert


@blp.route("")
@blp.arguments(AlertArgs, location="query")
@blp.response(200, AlertPageSchema)
def list_alerts(args):
    """监督预警（未处理的在前，新发现的在前）"""
    _viewer()
    try:
        flt = svc.AlertFilter.parse(args["kind"], args["state"], args["severity"], args["date_from"], args["date_to"])
    except svc.FilterError as exc:
        raise ApiError(400, "invalid", exc.message, fields={exc.field: [exc.message]}) from None
    page = db.paginate(flt.statement(), page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/<int:alert_id>")
@blp.response(200, AlertSchema)
def get_alert(alert_id):
    """一条预警：事实依据和处理记录"""
    _viewer()
    return _alert(alert_id)


@blp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@authorise("alerts.handle")
@blp.arguments(AcknowledgeInSchema)
@blp.response(200, AlertSchema)
def acknowledge(args, alert_id):
    """知悉（交易中心审核员）"""
    user = require_login()
    require(user, "alerts.handle")
    return perform(svc.acknowledge, user, _alert(alert_id), args["note"])


@blp.route("/<int:alert_id>/resolve", methods=["POST"])
@authorise("alerts.handle")
@blp.arguments(ResolveInSchema)
@blp.response(200, AlertSchema)
def resolve(args, alert_id):
    """记录处理结果（交易中心审核员）"""
    user = require_login()
    require(user, "alerts.handle")
    return perform(svc.resolve, user, _alert(alert_id), args["resolution"])


__all__ = ["blp"]
