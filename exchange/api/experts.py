"""The center's 专家库 (read): the experts an evaluation panel is drawn from, with their specialties and ties.
Read by the center's admin and reviewer and the supervisor; the mobile number in full only to those who keep the
pool (the admin and the reviewer), masked to the supervisor."""
from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from exchange.access import can
from exchange.api.common import PageArgs, authorise, make_blueprint, not_found, require_login
from exchange.extensions import db
from exchange.idcheck import mask_mobile
from exchange.procurement import experts as svc
from exchange.procurement.models import SPECIALTIES

blp = make_blueprint("api_experts", "/experts", "专家库（评标专家、专业和回避关系）")

SPECIALTY_TEXT = "；".join(f"{code} {name}" for code, name in SPECIALTIES.items())


class VillageTieSchema(Schema):
    org_unit_id = fields.Integer()
    village = fields.String(attribute="org_unit.area_name", metadata={"description": "村（社区）"})
    reason = fields.String(metadata={"description": "回避原因"})
    created_at = fields.DateTime()


class PartyTieSchema(Schema):
    party_id = fields.Integer()
    party = fields.String(attribute="party.name", metadata={"description": "交易主体名称"})
    reason = fields.String(metadata={"description": "回避原因"})
    created_at = fields.DateTime()


class ExpertSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    mobile = fields.Function(lambda e: e.mobile if can(current_user, "experts.manage") else mask_mobile(e.mobile),
                             metadata={"description": "手机号码（监管人员看到的是遮蔽后的号码）"})
    employer = fields.String(metadata={"description": "工作单位"})
    title = fields.String(metadata={"description": "职称"})
    specialties = fields.List(fields.String(), metadata={"description": f"专业代码：{SPECIALTY_TEXT}"})
    specialty_labels = fields.List(fields.String(), metadata={"description": "专业名称"})
    active = fields.Boolean(metadata={"description": "false：已停用，不再被抽取"})
    village_ties = fields.List(fields.Nested(VillageTieSchema))
    party_ties = fields.List(fields.Nested(PartyTieSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


class ExpertArgs(PageArgs):
    specialty = fields.String(load_default=None, validate=validate.OneOf(list(SPECIALTIES)),
                              metadata={"description": f"专业代码：{SPECIALTY_TEXT}"})
    active = fields.Boolean(load_default=None, metadata={"description": "true 在用 / false 已停用；不填为全部"})
    q = fields.String(load_default=None, validate=validate.Length(max=30), metadata={"description": "姓名或工作单位"})


class ExpertPageSchema(Schema):
    items = fields.List(fields.Nested(ExpertSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


@blp.route("")
@authorise("experts.view")
@blp.arguments(ExpertArgs, location="query")
@blp.response(200, ExpertPageSchema)
def list_experts(args):
    """专家库名单（按姓名排列）"""
    user = require_login()
    stmt = svc.experts_query(user, specialty=args["specialty"], active=args["active"],
                             q=(args["q"] or "").strip() or None)
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}


@blp.route("/<int:expert_id>")
@authorise("experts.view")
@blp.response(200, ExpertSchema)
def get_expert(expert_id):
    """专家详情（含回避关系）"""
    expert = svc.get_expert(require_login(), expert_id)
    if expert is None:
        raise not_found("专家")
    return expert
