"""成交签约 over the API: the contract, a party's confirmation (password), the signed scan, the center's
check and the free clauses.  The same services as the pages; only the translation is here."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from exchange.api.common import ApiError, Exact, File, make_blueprint, not_found, perform, require_login
from exchange.api.common import authorise, found
from exchange.contracts import services as csvc
from exchange.contracts.models import Contract
from exchange.contracts.templates_data import FREE_KEYS, MAX_CLAUSE
from exchange.extensions import db
from exchange.money import to_chinese_upper

blp = make_blueprint("api_contracts", "/contracts", "成交签约：合同确认、签章扫描件上传与交易中心审核")


class ContractSchema(Schema):
    id = fields.Integer()
    deal_id = fields.Integer()
    deal_no = fields.Function(lambda c: c.deal.deal_no)
    listing_id = fields.Integer()
    project_no = fields.Function(lambda c: c.listing.project_no)
    template = fields.String(metadata={"description": "合同文本类别：land / forest / collective / equipment / other"})
    title = fields.Function(lambda c: csvc.facts(c).title)
    state = fields.String(metadata={"description": "draft（待双方签署）/ signed（已生效，待上传签章合同）/ uploaded（已生效，"
                                                   "签章合同待核验）/ checked（已生效，签章合同已核验）/ void"})
    state_label = fields.String()
    contract_no = fields.String(allow_none=True)
    transferor = fields.Function(lambda c: c.listing.transferor_name)
    transferee = fields.Function(lambda c: csvc.transferee_name(c))
    price = Exact(attribute="deal.price", metadata={"description": "成交价（元）"})
    price_upper = fields.Function(lambda c: to_chinese_upper(c.deal.price),
                                  metadata={"description": "成交价大写"})
    due_at = fields.DateTime(metadata={"description": "签约期限（交易公示期满起 5 个工作日，第十六条）"})
    overdue = fields.Function(lambda c: csvc.is_overdue(c))
    signed_late = fields.Function(lambda c: csvc.signed_late(c), metadata={"description": "最后一方在签约期限后签署"})
    clauses = fields.Function(lambda c: csvc.clauses_of(c), metadata={"description": "约定条款"})
    text_sha256 = fields.String(metadata={"description": "双方确认的合同文本的 SHA-256"})
    buyer_confirmed_at = fields.DateTime(allow_none=True)
    seller_confirmed_at = fields.DateTime(allow_none=True)
    seller_confirmed_as = fields.String()
    seller_signature_filename = fields.String(metadata={"description": "交易点代为登记时上传的转让方纸质签字页"})
    seller_signature_sha256 = fields.String()
    scan_filename = fields.String()
    scan_sha256 = fields.String()
    scan_uploaded_at = fields.DateTime(allow_none=True)
    check_note = fields.String()
    signed_on = fields.Date(allow_none=True)
    effective_at = fields.DateTime(allow_none=True, metadata={"description": "生效时间：最后一方签署之时"})
    pdf_url = fields.Function(lambda c: f"/contracts/{c.id}.pdf")


class ContractConfirmSchema(Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=200),
                             metadata={"description": "本人登录密码（再次输入以确认）"})


class PaperSignatureSchema(Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=200),
                             metadata={"description": "代为确认人（交易点或交易站）本人的登录密码"})
    file = File(required=True, metadata={"description": "转让方在纸质合同上签字（盖章）的扫描件（PDF/JPG/PNG）"})


class ContractScanSchema(Schema):
    file = File(required=True, metadata={"description": "签字盖章的合同扫描件（PDF/JPG/PNG）"})


class ContractCheckSchema(Schema):
    approve = fields.Boolean(required=True, metadata={"description": "true：签章合同核验无误；false：退回重新上传"})
    note = fields.String(load_default="", validate=validate.Length(max=500), metadata={"description": "审核意见（退回时必填）"})


class ContractClausesSchema(Schema):
    payment = fields.String(validate=validate.Length(max=MAX_CLAUSE), metadata={"description": "付款方式补充约定"})
    delivery = fields.String(validate=validate.Length(max=MAX_CLAUSE), metadata={"description": "交付与验收"})
    dispute = fields.String(validate=validate.Length(max=MAX_CLAUSE), metadata={"description": "争议解决方式"})
    other = fields.String(validate=validate.Length(max=MAX_CLAUSE), metadata={"description": "双方其他约定"})


assert set(ContractClausesSchema().fields) == set(FREE_KEYS)


def _load(contract_id: int) -> Contract:
    user = require_login()
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise not_found("合同")
    csvc.require_view(user, contract)
    return contract


@blp.route("/<int:contract_id>")
@blp.response(200, ContractSchema)
def get_contract(contract_id):
    """合同详情（交易双方、代为确认的交易点、交易中心及监管）"""
    return _load(contract_id)


@blp.route("/<int:contract_id>/confirm", methods=["POST"])
@authorise(csvc.authorise_confirm, found(Contract, "合同"))
@blp.arguments(ContractConfirmSchema)
@blp.response(200, ContractSchema)
def confirm(args, contract_id):
    """当事人在线签署合同（再次输入本人密码；每方一次；双方签署后合同生效，逾期签署在认定违约前仍可签署并注明逾期）"""
    contract = _load(contract_id)
    return perform(csvc.confirm, require_login(), contract, args["password"])


@blp.route("/<int:contract_id>/paper-signature", methods=["POST"])
@authorise(csvc.authorise_confirm, found(Contract, "合同"))
@blp.arguments(PaperSignatureSchema, location="multipart")
@blp.response(200, ContractSchema)
def paper_signature(args, contract_id):
    """交易点（或交易站）代没有账号的转让方登记纸质签字（multipart/form-data：password、file）"""
    contract = _load(contract_id)
    return perform(csvc.confirm, require_login(), contract, args["password"], args["file"])


@blp.route("/<int:contract_id>/scan", methods=["POST"])
@authorise(csvc.authorise_upload, found(Contract, "合同"))
@blp.arguments(ContractScanSchema, location="multipart")
@blp.response(200, ContractSchema)
def upload_scan(args, contract_id):
    """上传签字盖章的合同扫描件（multipart/form-data：file；双方确认后）"""
    contract = _load(contract_id)
    upload = args.get("file")
    if upload is None:
        raise ApiError(400, "invalid", "请选择要上传的文件。", fields={"file": ["必填项"]})
    return perform(csvc.upload_scan, require_login(), contract, upload)


@blp.route("/<int:contract_id>/check", methods=["POST"])
@authorise(csvc.authorise_manage, found(Contract, "合同"))
@blp.arguments(ContractCheckSchema)
@blp.response(200, ContractSchema)
def check(args, contract_id):
    """交易中心核验签章合同扫描件（鉴证的一部分）：核验无误，或退回重新上传；合同自双方签署时生效"""
    contract = _load(contract_id)
    return perform(csvc.check, require_login(), contract, approve=args["approve"], note=args["note"])


@blp.route("/<int:contract_id>/clauses", methods=["PATCH"])
@authorise(csvc.authorise_manage, found(Contract, "合同"))
@blp.arguments(ContractClausesSchema)
@blp.response(200, ContractSchema)
def edit_clauses(args, contract_id):
    """修改约定条款（交易中心；双方确认前）"""
    contract = _load(contract_id)
    return perform(csvc.edit_clauses, require_login(), contract, args)
