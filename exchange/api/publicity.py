"""交易公示, objections and deal documents over the API."""
from __future__ import annotations

from exchange.api.common import make_blueprint

blp = make_blueprint("api_publicity", "", "交易公示、异议与成交文书")
