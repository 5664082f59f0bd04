"""意向受让登记, 资格确认 and deposit confirmation over the API."""
from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exchange.access import AccessDenied, can
from exchange.accounts.models import FOREIGN_KIND_LABELS, Role
from exchange.api.common import (ApiError, Exact, File, Id, Moment, PageArgs, make_blueprint, not_found, perform,
                                 require_login)
from exchange.api.common import authorise, found
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.registrations import review
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from exchange.registrations.models import Registration
from exchange.registrations.states import RegState

blp = make_blueprint("api_registrations", "", "意向受让登记、资格审核与保证金到账确认")


class RegMaterialSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class RegistrationSchema(Schema):
    id = fields.Integer()
    listing = fields.Function(lambda r: {"id": r.listing.id, "project_no": r.listing.project_no,
                                         "title": r.listing.title})
    buyer = fields.Function(lambda r: {"id": r.buyer.id, "name": r.buyer.display_name})
    state = fields.String()
    state_label = fields.String()
    offer = Exact(allow_none=True)
    by_agent = fields.Boolean()
    joint = fields.Boolean()
    flags = fields.String(metadata={"description": "提示审核人员注意的事项"})
    review_due_at = fields.DateTime(allow_none=True)
    review_note = fields.String()
    payment_ref = fields.String(allow_none=True, metadata={"description": "缴款码"})
    deposit_amount = Exact(allow_none=True)
    deposit_deadline_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    bidder_no = fields.Function(
        lambda r: r.bidder_no if review.shows_bidder_no(current_user, r) else None,
        metadata={"description": "竞买号（保证金到账后；竞价结束前只给报名人本人）", "type": "string", "nullable": True})
    priority_right = fields.Boolean()
    priority_basis = fields.String()
    foreign_kind = fields.String(metadata={"description": "报名时声明的外资企业或境外投资者类别；domestic 为境内主体，空为未声明"})
    foreign_checked_at = fields.DateTime(allow_none=True, metadata={"description": "审核人员核验外商投资审批或备案文件的时间"})
    foreign_check_note = fields.String(metadata={"description": "核验情况"})
    missing_materials = fields.Function(lambda r: [rsvc.BUYER_MATERIALS[k] for k in rsvc.missing_materials(r)],
                                        metadata={"description": "尚缺的材料（中文名称），与 missing_material_kinds 一一对应",
                                                  "type": "array", "items": {"type": "string"}})
    missing_material_kinds = fields.Function(
        lambda r: rsvc.missing_materials(r),
        metadata={"description": "尚缺的材料的类别代码（上传材料时 kind 的取值），与 missing_materials 一一对应",
                  "type": "array", "items": {"type": "string", "enum": list(rsvc.BUYER_MATERIALS)}})
    session_id = fields.Function(
        lambda r: _bidding_session_id(r),
        metadata={"description": "保证金已到账的竞买人可进入的竞价场次（GET /sessions/{session_id}/state）；"
                                 "尚未安排或不是竞买人时为 null", "type": "integer", "nullable": True})
    materials = fields.List(fields.Nested(RegMaterialSchema))


def _bidding_session_id(reg: Registration) -> int | None:
    if reg.state != "paid":  # only a bidder (deposit arrived) enters the room
        return None
    from exchange.trading.services import active_session
    bidding = active_session(reg.listing)
    return bidding.id if bidding is not None else None


class ApplySchema(Schema):
    accept_declaration = fields.Boolean(required=True, metadata={"description": "确认《意向受让方声明与保证》"})
    offer = fields.String(load_default=None, metadata={"description": "意向报价（协议转让必填）"})
    by_agent = fields.Boolean(load_default=False)
    agent_name = fields.String(load_default="")
    agent_id_no = fields.String(load_default="")
    joint = fields.Boolean(load_default=False)
    joint_members = fields.String(load_default="")
    foreign_kind = fields.String(load_default=None, validate=validate.OneOf(list(FOREIGN_KIND_LABELS)),
                                 metadata={"description": "是否为外资企业或境外投资者（账号未声明的必填）："
                                                          + "、".join(f"{k} {v}" for k, v in FOREIGN_KIND_LABELS.items())})


class RegListArgs(PageArgs):
    listing_id = Id(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(list(RegState)))


class RegPageSchema(Schema):
    items = fields.List(fields.Nested(RegistrationSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class NoteSchema(Schema):
    note = fields.String(load_default="")


class QualifySchema(NoteSchema):
    priority_right = fields.Boolean(load_default=False, metadata={"description": "享有优先权（同等条件优先）"})
    priority_basis = fields.String(load_default="", metadata={"description": "优先权依据"})
    foreign_checked = fields.Boolean(load_default=False, metadata={
        "description": "已核验外商投资审批或备案文件（报名人声明为外资企业或境外投资者时必须）"})
    foreign_check_note = fields.String(load_default="", metadata={"description": "核验情况（文件文号、批准机关、结论）"})


class ReasonSchema(Schema):
    reason = fields.String(required=True)


class DepositSchema(Schema):
    amount = fields.String(required=True, metadata={"description": "到账金额（元）"})
    source_key = fields.String(required=True, validate=validate.Length(min=1, max=100),
                               metadata={"description": "银行回单号或流水号（同一流水只入账一次）"})
    arrived_at = Moment(load_default=None, metadata={"description": "到账时间（默认为现在）"})
    receipt = File(required=True, metadata={"description": "银行回单（PDF、JPG 或 PNG，必传）"})


class MaterialUploadSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(rsvc.BUYER_MATERIALS)),
                         metadata={"description": "材料类别代码：" + "、".join(
                             f"{code} {label}" for code, label in rsvc.BUYER_MATERIALS.items())})
    file = File(required=True, metadata={"description": "材料文件（PDF、JPG 或 PNG）"})


def _can_see(user, reg: Registration) -> bool:
    if user.role == Role.PUBLIC:
        return reg.buyer_id == user.id
    return can(user, "listings.view", reg.listing.org)


def _load(reg_id: int) -> Registration:
    user = require_login()
    reg = db.session.get(Registration, reg_id)
    if reg is None:
        raise not_found("报名")
    if not _can_see(user, reg):
        raise AccessDenied("您没有权限查看该报名。")
    return reg


@blp.route("/listings/<int:listing_id>/registrations", methods=["POST"])
@authorise(rsvc.authorise_apply)
@blp.arguments(ApplySchema)
@blp.response(201, RegistrationSchema)
def apply(args, listing_id):
    """报名（意向受让登记）"""
    user = require_login()
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise not_found("项目")
    reg = perform(rsvc.apply, user, listing, **args)
    return reg


@blp.route("/registrations")
@blp.arguments(RegListArgs, location="query")
@blp.response(200, RegPageSchema)
def list_registrations(args):
    """报名列表：交易主体看自己的；工作人员看管辖范围内项目的"""
    user = require_login()
    stmt = select(Registration).order_by(Registration.id.desc())
    if user.role == Role.PUBLIC:
        stmt = stmt.where(Registration.buyer_id == user.id)
    else:
        from exchange.access import require, scope_clause
        require(user, "listings.view", user.org_unit)
        stmt = stmt.join(Listing).where(scope_clause(user, Listing.org_path))
    if args["listing_id"]:
        stmt = stmt.where(Registration.listing_id == args["listing_id"])
    if args["state"]:
        stmt = stmt.where(Registration.state == args["state"])
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page}


@blp.route("/registrations/<int:reg_id>")
@blp.response(200, RegistrationSchema)
def get_registration(reg_id):
    """报名详情"""
    return _load(reg_id)


@blp.route("/registrations/<int:reg_id>/materials", methods=["POST"])
@authorise(rsvc.authorise_own, found(Registration, "报名"))
@blp.arguments(MaterialUploadSchema, location="multipart")
@blp.response(201, RegMaterialSchema)
def upload(args, reg_id):
    """上传第十三条规定的材料（multipart/form-data：kind 与 file）"""
    reg = _load(reg_id)
    file = args.get("file")
    if file is None:
        raise ApiError(400, "invalid", "请选择要上传的文件。", fields={"file": ["必填项"]})
    m = perform(rsvc.add_material, require_login(), reg, args["kind"], file)
    return m


@blp.route("/registrations/<int:reg_id>/qualify", methods=["POST"])
@authorise(rsvc.authorise_review, found(Registration, "报名"))
@blp.arguments(QualifySchema)
@blp.response(200, RegistrationSchema)
def qualify(args, reg_id):
    """确认受让资格：生成缴款码，告知保证金金额和截止时间；可认定优先权"""
    reg = _load(reg_id)
    perform(rsvc.qualify, require_login(), reg, args["note"], priority_right=args["priority_right"],
            priority_basis=args["priority_basis"], foreign_checked=args["foreign_checked"],
            foreign_check_note=args["foreign_check_note"])
    return reg


@blp.route("/registrations/<int:reg_id>/reject", methods=["POST"])
@authorise(rsvc.authorise_review, found(Registration, "报名"))
@blp.arguments(ReasonSchema)
@blp.response(200, RegistrationSchema)
def reject(args, reg_id):
    """不予登记（须写明理由）"""
    reg = _load(reg_id)
    perform(rsvc.reject, require_login(), reg, args["reason"])
    return reg


@blp.route("/registrations/<int:reg_id>/deposit", methods=["POST"])
@authorise("deposits.confirm")
@blp.arguments(DepositSchema, location="multipart")
@blp.response(200, RegistrationSchema)
def confirm_deposit(args, reg_id):
    """凭银行回单确认保证金到账（中心财务；multipart/form-data，回单必传；金额须一致、须在截止前到账）"""
    reg = _load(reg_id)
    perform(deposits.confirm_deposit, require_login(), reg, args["amount"], source_key=args["source_key"],
            arrived_at=args["arrived_at"], receipt=args.get("receipt"))
    return reg
