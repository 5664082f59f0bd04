"""Pages: online payment (with the sandbox bank), receipts, bank statement import and reconciliation."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("payments", __name__, url_prefix="/payments")
