"""The organisation tree (read within scope; managed by the center admin)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from exchange.api.common import ApiError, Id, Int, make_blueprint, not_found, require_login, service_error
from exchange.api.common import authorise
from exchange.extensions import db
from exchange.orgs import services as svc
from exchange.orgs.models import OrgKind, OrgUnit

blp = make_blueprint("api_orgs", "/orgs", "组织机构（交易中心、交易站、交易点）")


class OrgSchema(Schema):
    id = fields.Integer(dump_only=True)
    parent_id = fields.Integer(allow_none=True)
    kind = fields.String(metadata={"description": "center 交易中心 / station 交易站 / point 交易点"})
    kind_label = fields.String(dump_only=True)
    name = fields.String()
    area_name = fields.String()
    code = fields.String()
    division_code = fields.String(allow_none=True, metadata={"description": "行政区划代码"})
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    active = fields.Boolean(dump_only=True)
    sort_order = fields.Integer()


class OrgListArgs(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf([k.value for k in OrgKind]))
    active = fields.Boolean(load_default=None)


class OrgCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in OrgKind]))
    parent_id = Id(load_default=None)
    name = fields.String(required=True)
    area_name = fields.String(required=True)
    code = fields.String(required=True)
    division_code = fields.String(load_default=None)
    address = fields.String(load_default=None)
    phone = fields.String(load_default=None)
    sort_order = Int(load_default=0)


class OrgUpdateSchema(Schema):
    name = fields.String()
    area_name = fields.String()
    code = fields.String()
    division_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    sort_order = Int()


class ActiveSchema(Schema):
    active = fields.Boolean(required=True)


def _load(user, org_id: int) -> OrgUnit:
    org = svc.get_org(user, org_id)
    if org is None:
        raise not_found("机构")
    return org


@blp.route("")
@blp.arguments(OrgListArgs, location="query")
@blp.response(200, OrgSchema(many=True))
def list_orgs(args):
    """我的管辖范围内的机构

    交易点只看到自己，交易站看到本站及其交易点，交易中心和监管看到全部。
    """
    user = require_login()
    orgs = svc.orgs_in_scope(user, kind=args["kind"])
    if args["active"] is not None:
        orgs = [o for o in orgs if o.active == args["active"]]
    return orgs


@blp.route("", methods=["POST"])
@authorise("orgs.manage")
@blp.arguments(OrgCreateSchema)
@blp.response(201, OrgSchema)
def create_org(args):
    """新增机构（中心管理员）"""
    user = require_login()
    parent_id = args.pop("parent_id")
    parent = db.session.get(OrgUnit, parent_id) if parent_id is not None else None
    if parent_id is not None and parent is None:
        raise ApiError(400, "invalid", "上级机构不存在。", fields={"parent_id": ["上级机构不存在"]})
    try:
        org = svc.create_org(user, parent=parent, **args)
    except svc.OrgError as exc:
        raise service_error(exc) from None
    db.session.commit()
    return org


@blp.route("/<int:org_id>")
@blp.response(200, OrgSchema)
def get_org(org_id):
    """机构详情"""
    return _load(require_login(), org_id)


@blp.route("/<int:org_id>", methods=["PATCH"])
@authorise("orgs.manage")
@blp.arguments(OrgUpdateSchema)
@blp.response(200, OrgSchema)
def update_org(args, org_id):
    """修改机构（中心管理员）"""
    user = require_login()
    org = db.session.get(OrgUnit, org_id)
    if org is None:
        raise not_found("机构")
    try:
        svc.update_org(user, org, **args)
    except svc.OrgError as exc:
        raise service_error(exc) from None
    db.session.commit()
    return org


@blp.route("/<int:org_id>/active", methods=["PUT"])
@authorise("orgs.manage")
@blp.arguments(ActiveSchema)
@blp.response(200, OrgSchema)
def set_active(args, org_id):
    """启用或停用机构（中心管理员）"""
    user = require_login()
    org = db.session.get(OrgUnit, org_id)
    if org is None:
        raise not_found("机构")
    try:
        svc.set_org_active(user, org, args["active"])
    except svc.OrgError as exc:
        raise service_error(exc) from None
    db.session.commit()
    return org

