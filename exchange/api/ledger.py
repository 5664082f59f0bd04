"""The ledger (台账) and refunds over the API."""
from __future__ import annotations

from exchange.api.common import make_blueprint

blp = make_blueprint("api_ledger", "", "资金台账与保证金退款")
