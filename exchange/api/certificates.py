"""鉴证书 over the API: issue, revoke, read (staff) and the open verification lookup (masked)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from exchange.access import AccessDenied, can
from exchange.api.common import ApiError, Exact, make_blueprint, not_found, perform, public, require_login
from exchange.api.common import authorise
from exchange.certificates import services as csvc
from exchange.certificates.models import Certificate
from exchange.extensions import db
from exchange.trading.models import Deal

blp = make_blueprint("api_certificates", "", "鉴证书：出具、撤销、查询与公开核验")


class CertificateSchema(Schema):
    id = fields.Integer()
    cert_no = fields.String(metadata={"description": "鉴证书编号，如 临农交鉴〔2026〕第000123号"})
    deal_id = fields.Integer()
    state = fields.String(metadata={"description": "valid 有效 / revoked 已撤销"})
    state_label = fields.String()
    issued_at = fields.DateTime()
    pdf_sha256 = fields.String()
    pdf_size = fields.Integer()
    revoked_at = fields.DateTime(allow_none=True)
    revoked_reason = fields.String()
    replaces_id = fields.Integer(allow_none=True)
    verify_url = fields.Method("_verify_url")

    def _verify_url(self, cert):
        return csvc.verify_url(cert.cert_no)


class RevokeSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=4, max=500),
                           metadata={"description": "撤销理由（核验页将公开显示）"})


class PublicCertificateSchema(Schema):
    cert_no = fields.String()
    state = fields.String()
    state_label = fields.String()
    revoked_reason = fields.String()
    project_no = fields.String()
    title = fields.String()
    category = fields.String()
    location = fields.String()
    quantity = fields.String()
    term = fields.String()
    trading_method = fields.String()
    transferor = fields.String(metadata={"description": "自然人姓名已隐去部分"})
    transferee = fields.String(metadata={"description": "自然人姓名已隐去部分"})
    price = Exact()
    contract_no = fields.String()
    issued_on = fields.String()
    pdf_sha256 = fields.String()


def _staff():
    user = require_login()
    if not (can(user, "certificates.issue") or can(user, "archive.download")):
        raise AccessDenied("您没有权限查看鉴证书。")
    return user


@blp.route("/deals/<int:deal_id>/certificate", methods=["POST"])
@blp.response(201, CertificateSchema)
def issue(deal_id):
    """出具鉴证书（合同已生效、资金已结算、服务费已收取；同一成交只出具一次，撤销后可重新出具新编号）"""
    user = require_login()
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        raise not_found("成交")
    return perform(csvc.issue, user, deal)


@blp.route("/deals/<int:deal_id>/certificates")
@blp.response(200, CertificateSchema(many=True))
def of_deal(deal_id):
    """某成交的全部鉴证书（含已撤销）"""
    _staff()
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        raise not_found("成交")
    return csvc.certificates_of(deal)


@blp.route("/certificates/<int:cert_id>")
@blp.response(200, CertificateSchema)
def get(cert_id):
    """鉴证书详情"""
    _staff()
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        raise not_found("鉴证书")
    return cert


@blp.route("/certificates/<int:cert_id>/revoke", methods=["POST"])
@authorise("certificates.issue")
@blp.arguments(RevokeSchema)
@blp.response(200, CertificateSchema)
def revoke(args, cert_id):
    """撤销鉴证书（须写明理由）"""
    user = require_login()
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        raise not_found("鉴证书")
    return perform(csvc.revoke, user, cert, args["reason"])


@blp.route("/public/certificates/<path:number>")
@public
@blp.response(200, PublicCertificateSchema)
@blp.alt_response(404, schema=None, description="编号格式不对或没有该鉴证书")
def public(number):
    """公开核验：鉴证书状态与关键信息（自然人姓名隐去部分），PDF 的 SHA-256"""
    cert = csvc.find(number)
    if cert is None:
        raise ApiError(404, "not_found", "未找到该编号的鉴证书。")
    f = csvc.facts(cert.deal, cert.cert_no, cert.issued_at, public=True)
    return {"cert_no": cert.cert_no, "state": cert.state, "state_label": cert.state_label,
            "revoked_reason": cert.revoked_reason if cert.state == "revoked" else "",
            "project_no": f.project_no, "title": f.title, "category": f.category, "location": f.location,
            "quantity": f.quantity, "term": f.term, "trading_method": f.trading_method,
            "transferor": f.transferor, "transferee": f.transferee, "price": f"{f.price:.2f}",
            "contract_no": f.contract_no, "issued_on": f.issued_on, "pdf_sha256": cert.pdf_sha256}
