"""Online payments, provider callbacks and bank statement import over the API."""
from __future__ import annotations

from exchange.api.common import make_blueprint

blp = make_blueprint("api_payments", "", "网上支付、支付回调与银行流水对账")
