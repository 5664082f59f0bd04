"""纠纷调解 (第二十七条) over the API: list, read, register, add a mediation note, close.

Reading: ``disputes.view`` (the center's reviewer and trading officer, 监管); acting: ``disputes.manage``
(the center's reviewer).  The same services as the pages (:mod:`exchange.incidents.disputes`).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from exchange.access import require
from exchange.api.common import File, Id, PageArgs, make_blueprint, not_found, perform, require_login
from exchange.api.common import authorise
from exchange.incidents import disputes as dsvc
from exchange.incidents.models import DISPUTE_STATES, Dispute
from exchange.extensions import db

blp = make_blueprint("api_disputes", "", "纠纷调解（第二十七条）")


class NoteSchema(Schema):
    at = fields.String(allow_none=True, metadata={"description": "记录时间（UTC，ISO 8601）"})
    by = fields.String(metadata={"description": "记录人（姓名和角色）"})
    text = fields.String()


class DisputeSchema(Schema):
    id = fields.Integer()
    listing_id = fields.Integer()
    project_no = fields.Function(lambda d: d.listing.project_no)
    title = fields.Function(lambda d: d.listing.title)
    state = fields.String(metadata={"description": "applied 待受理（当事人在线申请）/ open 调解中 / settled 调解成功 / "
                                                   "failed 调解不成 / withdrawn 已撤回 / declined 不予受理"})
    state_label = fields.String()
    applicant = fields.String()
    respondent = fields.String()
    parties = fields.String()
    claims = fields.String()
    applicant_side = fields.String(metadata={"description": "当事人在线申请的：transferor 转让方 / buyer 受让方；"
                                                            "交易中心登记的为空"})
    requests = fields.String(metadata={"description": "在线申请的调解请求（交易中心登记的为空，请求写在 claims 中）"})
    notes = fields.Function(lambda d: NoteSchema(many=True).dump(dsvc.notes_of(d)),
                            metadata={"description": "调解记录，按时间先后（只增不改）"})
    outcome = fields.String(metadata={"description": "调解协议内容，或调解不成（含告知的救济途径）、撤回的情况"})
    document = fields.Function(lambda d: {"filename": d.document_filename, "sha256": d.document_sha256,
                                          "content_type": d.document_content_type} if d.document_key else None,
                               metadata={"description": "调解文书扫描件（可为空）"})
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class DisputePageSchema(Schema):
    items = fields.List(fields.Nested(DisputeSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class DisputeArgs(PageArgs):
    state = fields.String(load_default=None,
                          validate=validate.OneOf(["open", "closed", *[s for s in DISPUTE_STATES if s != "open"]]),
                          metadata={"description": "applied 待受理 / open 调解中 / closed 已结案 / settled / failed / "
                                                   "withdrawn / declined；不填为全部"})
    listing_id = Id(load_default=None, metadata={"description": "只看某个项目的"})


class DisputeInSchema(Schema):
    applicant = fields.String(required=True, validate=validate.Length(max=dsvc.NAME_MAX),
                              metadata={"description": "申请人（姓名或单位名称，2–100 字）"})
    respondent = fields.String(required=True, validate=validate.Length(max=dsvc.NAME_MAX),
                               metadata={"description": "被申请人（2–100 字）"})
    parties = fields.String(load_default="", validate=validate.Length(max=dsvc.PARTIES_MAX),
                            metadata={"description": "其他当事人或利害关系人（可空）"})
    claims = fields.String(required=True, validate=validate.Length(max=dsvc.CLAIMS_MAX),
                           metadata={"description": "调解请求和事实理由（10–4000 字）"})


class NoteInSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(max=dsvc.NOTE_MAX),
                         metadata={"description": "本次调解情况（4–2000 字；保存后不能修改）"})


class CloseInSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(list(dsvc.OUTCOMES)),
                            metadata={"description": "settled 调解成功 / failed 调解不成 / withdrawn 申请人撤回"})
    text = fields.String(required=True, validate=validate.Length(max=dsvc.AGREEMENT_MAX),
                         metadata={"description": "调解协议内容；或调解不成的原因；或撤回的情况"})
    advice = fields.String(load_default=None, validate=validate.OneOf(list(dsvc.ADVICE)),
                           metadata={"description": "调解不成时必填：arbitration 告知依合同申请仲裁 / court 告知向人民法院"
                                                    "起诉 / both 两者"})
    document = File(metadata={"description": "调解协议书或调解记录扫描件（PDF/JPG/PNG，可不传）"})


def _viewer():
    user = require_login()
    require(user, "disputes.view")  # before any lookup: outsiders learn nothing about which ids exist
    return user


def _dispute(dispute_id: int) -> Dispute:
    d = db.session.get(Dispute, dispute_id)
    if d is None:
        raise not_found("纠纷调解记录")
    return d


@blp.route("/disputes")
@blp.arguments(DisputeArgs, location="query")
@blp.response(200, DisputePageSchema)
def list_disputes(args):
    """纠纷调解记录，调解中的在前（交易中心审核员、交易员和监管）"""
    user = _viewer()
    stmt = dsvc.search(user, state=args["state"], listing_id=args["listing_id"])
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/disputes/<int:dispute_id>")
@blp.response(200, DisputeSchema)
def get_dispute(dispute_id):
    """一条纠纷调解记录：当事人、请求、调解记录和结果"""
    _viewer()
    return _dispute(dispute_id)


@blp.route("/listings/<int:listing_id>/disputes", methods=["POST"])
@authorise("disputes.manage")
@blp.arguments(DisputeInSchema)
@blp.response(201, DisputeSchema)
def create_dispute(args, listing_id):
    """登记纠纷调解申请（交易中心审核员；已发布公告的项目）"""
    from exchange.listings.models import Listing
    user = require_login()
    require(user, "disputes.manage")
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise not_found("项目")
    return perform(dsvc.open_dispute, user, listing, **args)


@blp.route("/disputes/<int:dispute_id>/notes", methods=["POST"])
@authorise("disputes.manage")
@blp.arguments(NoteInSchema)
@blp.response(201, DisputeSchema)
def add_note(args, dispute_id):
    """记录一次调解情况（交易中心审核员；结案后不能再记录）"""
    user = require_login()
    require(user, "disputes.manage")
    return perform(dsvc.add_note, user, _dispute(dispute_id), args["note"])


@blp.route("/disputes/<int:dispute_id>/close", methods=["POST"])
@authorise("disputes.manage")
@blp.arguments(CloseInSchema, location="multipart")
@blp.response(200, DisputeSchema)
def close_dispute(args, dispute_id):
    """结案：调解成功（调解协议）、调解不成（须告知仲裁或诉讼途径）或撤回；可附扫描件（multipart/form-data）"""
    user = require_login()
    require(user, "disputes.manage")
    d = _dispute(dispute_id)
    document = args.pop("document", None)
    return perform(dsvc.close, user, d, document=document, **args)


__all__ = ["blp"]
