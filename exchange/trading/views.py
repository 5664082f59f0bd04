"""Trading pages: the trading officer's work (schedule, confirm, record offline results) and the bidding room."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("trading", __name__, url_prefix="/trading")
