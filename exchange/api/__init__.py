"""The versioned JSON API under ``/api/v1``.

* Authentication: the browser session (mutating calls then need the ``X-CSRFToken`` header,
  fetched from ``GET /api/v1/auth/csrf``) or ``Authorization: Bearer <token>`` (no CSRF).
* Errors are always ``{"error": <code>, "message": <中文说明>}`` (plus ``fields`` for validation).
* The OpenAPI 3 document is generated from the code (flask-smorest) at ``/api/v1/openapi.json``.

Endpoints call the same services as the pages; this package only translates.
"""
from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from exchange.api.common import API_PREFIX, ApiError, ErrorSchema
from flask_smorest import Api

from exchange.extensions import csrf


def init_api(app: Flask) -> None:
    app.config.setdefault("API_SPEC_OPTIONS", {})
    app.config["API_SPEC_OPTIONS"].update({
        "info": {"description": "临湘市农村产权流转交易平台的业务与开放数据接口。所有时间为 UTC（ISO 8601），"
                                "金额单位为元（字符串形式的两位小数）。错误统一返回 "
                                "{\"error\": 错误代码, \"message\": 中文说明}。"},
        "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "管理员发放的 API 访问令牌"},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "lxnc_session",
                           "description": "浏览器会话；修改类请求需带 X-CSRFToken 请求头"},
            "paymentSignature": {"type": "apiKey", "in": "header", "name": "X-Sandbox-Signature",
                                 "description": "支付渠道对到账通知的签名（随 X-Sandbox-Timestamp、X-Sandbox-Nonce "
                                                "一起验证）；仅供支付渠道调用"},
        }},
        # No document-wide "security": every operation declares its own (exchange.api.spec).
        "servers": [{"url": "/"}],
    })
    from exchange.api import spec as api_spec
    # one per application: the spec belongs to the app it documents
    api = ExchangeApi(app, spec_kwargs={"extra_plugins": [api_spec.OperationPlugin(by_blueprint={
        "api_payment_callbacks": [{"paymentSignature": []}]})]})
    api_spec.install(api)
    from exchange.api import (audit, auth, calendar, contracts, ledger, listings, orgs, payments, registrations,  # noqa: F401
                              publicity, system, trading, users)
    for bp in (system.blp, auth.blp, orgs.blp, users.blp, calendar.blp, audit.blp, listings.blp,
               registrations.blp, payments.blp, payments.callbacks, ledger.blp, trading.blp, publicity.blp,
               contracts.blp):
        csrf.exempt(bp)
        api.register_blueprint(bp)
    from exchange.api import settlement as settlement_api; csrf.exempt(settlement_api.blp); api.register_blueprint(settlement_api.blp)  # noqa: E702,E501

    from exchange.api import certificates as certificates_api; csrf.exempt(certificates_api.blp); api.register_blueprint(certificates_api.blp)  # noqa: E702,E501
    from exchange.api import defaults as defaults_api; csrf.exempt(defaults_api.blp); api.register_blueprint(defaults_api.blp)  # noqa: E702,E501
    from exchange.api import disputes as disputes_api; csrf.exempt(disputes_api.blp); api.register_blueprint(disputes_api.blp)  # noqa: E702,E501
    from exchange.api import notifications as notifications_api; csrf.exempt(notifications_api.blp); api.register_blueprint(notifications_api.blp)  # noqa: E702,E501
    from exchange.api import stats as stats_api; csrf.exempt(stats_api.blp); api.register_blueprint(stats_api.blp)  # noqa: E702,E501
    from exchange.api import opendata as opendata_api; csrf.exempt(opendata_api.blp); opendata_api.register(api)  # noqa: E702,E501
    from exchange.api import alerts as alerts_api; csrf.exempt(alerts_api.blp); api.register_blueprint(alerts_api.blp)  # noqa: E702,E501
    from exchange.api import experts as experts_api; csrf.exempt(experts_api.blp); api.register_blueprint(experts_api.blp)  # noqa: E702,E501
    from exchange.api import procurement as procurement_api; csrf.exempt(procurement_api.blp); api.register_blueprint(procurement_api.blp)  # noqa: E702,E501

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        from exchange.extensions import db
        db.session.rollback()
        body = {"error": exc.error, "message": exc.message}
        body.update(exc.extra)
        return body, exc.status

    # HTTP errors raised inside the API (webargs validation, abort()) use our error format too.
    def _http_error(exc: HTTPException):
        if not request.path.startswith(API_PREFIX):
            from flask import render_template
            return render_template("errors/generic.html", code=exc.code, title="请求有误",
                                   message=exc.description or "请求有误。"), exc.code
        from exchange.extensions import db
        db.session.rollback()
        code = exc.code or 500
        messages = {401: ("unauthorized", "请先登录或提供有效的访问令牌。"),
                    409: ("conflict", "数据已被他人修改，请刷新后重试。"),
                    415: ("unsupported_media_type", "请以 application/json 提交。"),
                    422: ("validation_failed", "提交的数据有误，请检查各字段。"),
                    429: ("too_many_requests", "请求过于频繁，请稍后再试。")}
        error, message = messages.get(code, ("http_error", exc.description or "请求有误。"))
        body = {"error": error, "message": message}
        data = getattr(exc, "data", None) or {}
        if code == 422 and "messages" in data:
            fields = {}
            for location in data["messages"].values():
                fields.update(location)
            body["fields"] = _chinese_field_errors(fields)
        return body, code

    for code in (401, 409, 415, 422, 429):
        app.register_error_handler(code, _http_error)
    api.fallback_handler = _http_error


class ExchangeApi(Api):
    """flask-smorest's Api documenting our error body and leaving error pages to the app."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # Specific codes are handled by exchange.web.security and init_api; anything else
        # (e.g. 408, 501) comes here.
        self._app.register_error_handler(HTTPException, lambda exc: self.fallback_handler(exc))

    def fallback_handler(self, exc):  # replaced in init_api
        return exc


def _chinese_field_errors(fields: dict) -> dict:
    """Marshmallow's built-in messages are English; translate the common ones."""
    table = {
        "Missing data for required field.": "必填项",
        "Not a valid integer.": "应为整数",
        "Not a valid string.": "应为文本",
        "Not a valid date.": "日期格式应为 YYYY-MM-DD",
        "Not a valid datetime.": "时间格式应为 ISO 8601",
        "Not a valid boolean.": "应为 true 或 false",
        "Unknown field.": "未知字段",
        "Field may not be null.": "不能为空",
        "Not a valid email address.": "邮箱格式不正确",
        "Not a valid number.": "应为数字",
        "Number too large.": "数值超出范围",
        "Special numeric values (nan or infinity) are not permitted.": "不能是 NaN 或 Infinity",
    }
    out = {}
    for key, val in fields.items():
        if isinstance(val, list):
            out[key] = [table.get(v, v) if isinstance(v, str) else v for v in val]
        elif isinstance(val, dict):
            out[key] = _chinese_field_errors(val)
        else:
            out[key] = table.get(val, val)
    return out
