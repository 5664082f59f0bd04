"""What the OpenAPI document says beyond what flask-smorest writes by itself, set in one place:

* every operation's ``operationId``: its Flask endpoint without the ``api_`` prefix, e.g. ``listings.get_listing``
  (blueprint and view function: stable while the function keeps its name, unique because endpoints are);
* every operation's ``security``: the default is an API token or the browser session
  (:data:`exchange.api.common.SIGNED_IN`); views marked :func:`~exchange.api.common.public` (``[]``) or
  :func:`~exchange.api.common.public_or_signed_in`, and the open-data and payment-callback views, declare their own.
  There is no document-wide ``security``;
* exact decimals (:class:`exchange.api.common.Exact`: money, areas, rates) as ``{type: string, format: decimal,
  pattern}``, uploads (:class:`exchange.api.common.File`) as binary strings;
* every tag (one per blueprint) named in Chinese as the pages name the subject (:data:`TAGS`; the open-data guide at
  ``/open-data`` sends integrators to the “开放数据” section), never the blueprint's code name ``api_…``.
"""
from __future__ import annotations

import re

from apispec import BasePlugin

from exchange.api.common import DECIMAL_PATTERN, SIGNED_IN, Exact

OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


# the tag of each blueprint's operations: the words the pages and the guides use
TAGS = {
    "api_system": "系统", "api_auth": "登录与账号", "api_orgs": "组织机构", "api_users": "用户与访问令牌",
    "api_calendar": "工作日历", "api_audit": "审计日志", "api_listings": "挂牌项目", "api_registrations": "意向受让登记",
    "api_payments": "保证金支付与对账", "api_payment_callbacks": "支付到账通知", "api_ledger": "资金台账与退款",
    "api_trading": "组织交易", "api_publicity": "交易公示", "api_contracts": "成交签约", "api_settlement": "资金结算",
    "api_certificates": "鉴证书", "api_defaults": "违约处理", "api_disputes": "纠纷调解", "api_notifications": "我的通知",
    "api_stats": "统计分析", "api_opendata": "开放数据", "api_alerts": "监督预警",
    "api_experts": "专家库", "api_procurement": "招标采购",
}


def tag_name(blueprint: str, description: str | None = None) -> str:
    """The Chinese tag of a blueprint: :data:`TAGS`, else the first phrase of its (Chinese) description."""
    if blueprint in TAGS:
        return TAGS[blueprint]
    head = re.split(r"[：:（(，,；;、]", description or "", maxsplit=1)[0].strip()
    return head or blueprint.removeprefix("api_")


def operation_id(endpoint: str) -> str:
    """``api_listings.get_listing`` → ``listings.get_listing``."""
    blueprint, _, view = endpoint.rpartition(".")
    return f"{blueprint.removeprefix('api_')}.{view}"


class OperationPlugin(BasePlugin):
    """Names each operation and says who may call it, as flask-smorest registers its path.  ``by_blueprint``
    gives the security of every operation of a blueprint that has its own credentials (a view's own
    declaration still wins)."""

    def __init__(self, by_blueprint: dict[str, list] | None = None):
        self.by_blueprint = by_blueprint or {}
        self.descriptions: dict[str, str] = {}  # blueprint → description, for tags not in TAGS (see install)

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        blueprint = rule.endpoint.rpartition(".")[0]
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            operation.setdefault("operationId", operation_id(rule.endpoint))
            operation["tags"] = [tag_name(t, self.descriptions.get(t)) for t in operation.get("tags", [])]
            security = self.by_blueprint.get(blueprint, SIGNED_IN)
            operation.setdefault("security", [dict(item) for item in security])


def _decimal_pattern(self, field, **kwargs) -> dict:
    """An apispec attribute function: the pattern of an exact decimal's string."""
    return {"pattern": DECIMAL_PATTERN} if isinstance(field, Exact) else {}


def install(api) -> None:
    """Called once per application by :func:`exchange.api.init_api`, after the spec exists, before any blueprint."""
    api.register_field(Exact, "string", "decimal")
    api.ma_plugin.converter.add_attribute_function(_decimal_pattern)
    # flask-smorest tags a blueprint's operations, and lists the tag, with the blueprint's name: both in Chinese here
    plugin = next((p for p in api.spec.plugins if isinstance(p, OperationPlugin)), None)
    register, tag = api.register_blueprint, api.spec.tag

    def register_blueprint(blp, **options):
        if plugin is not None:
            plugin.descriptions[options.get("name", blp.name)] = blp.description or ""
        return register(blp, **options)

    def chinese_tag(info: dict):
        return tag({**info, "name": tag_name(info["name"], info.get("description"))})

    api.register_blueprint, api.spec.tag = register_blueprint, chinese_tag
