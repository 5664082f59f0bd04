"""Finance workbench pages: per-listing and per-buyer ledger views, refunds (maker-checker)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ledger", __name__, url_prefix="/finance")
