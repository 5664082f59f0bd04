"""What the OpenAPI document says beyond what flask-smorest writes by itself, set in one place:

* every operation's ``operationId``: its Flask endpoint without the ``api_`` prefix, e.g. ``listings.get_listing``
  (blueprint and view function: stable while the function keeps its name, unique because endpoints are);
* every operation's ``security``: the default is an API token or the browser session
  (:data:`exchange.api.common.SIGNED_IN`); views marked :func:`~exchange.api.common.public` (``[]``) or
  :func:`~exchange.api.common.public_or_signed_in`, and the open-data and payment-callback views, declare their own.
  There is no document-wide ``security``;
* exact decimals (:class:`exchange.api.common.Exact`: money, areas, rates) as ``{type: string, format: decimal,
  pattern}``, uploads (:class:`exchange.api.common.File`) as binary strings.
"""
from __future__ import annotations

import re

from apispec import BasePlugin

from exchange.api.common import DECIMAL_PATTERN, SIGNED_IN, Exact

OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


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

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        blueprint = rule.endpoint.rpartition(".")[0]
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            operation.setdefault("operationId", operation_id(rule.endpoint))
            security = self.by_blueprint.get(blueprint, SIGNED_IN)
            operation.setdefault("security", [dict(item) for item in security])


def _decimal_pattern(self, field, **kwargs) -> dict:
    """An apispec attribute function: the pattern of an exact decimal's string."""
    return {"pattern": DECIMAL_PATTERN} if isinstance(field, Exact) else {}


def install(api) -> None:
    """Called once per application by :func:`exchange.api.init_api`, after the spec exists, before any blueprint."""
    api.register_field(Exact, "string", "decimal")
    api.ma_plugin.converter.add_attribute_function(_decimal_pattern)
