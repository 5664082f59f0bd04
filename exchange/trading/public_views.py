"""Public 交易公示 pages, objections, and the deal documents (成交确认书, 竞价记录)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("publicity", __name__)
