"""Procurement projects (issue 18): intake, publication, sealed bids, 开标 and 最低价法 评标 — services on both
databases."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import text

from exchange import clock
from exchange.procurement import services as psvc
from exchange.procurement import vault
from tests.procurement_builders import (LIMIT, SUPPLIERS, bid_vault, draft, pay_bonds,  # noqa: F401
                                        published_project, suppliers, to_opening)

pytestmark = pytest.mark.usefixtures("frozen", "uploads", "bid_vault")


def test_a_road_repair_from_intake_to_its_first_candidate(users, db):
    listing = published_project(users, db)
    project = psvc.project_of(listing)
    assert listing.state == "announced" and project.state == "bidding"
    assert listing.announce_end_at == project.opens_at == listing.deposit_deadline_at
    assert project.public_key and project.wrapped_key and project.opened_key is None
    suppliers(users)
    regs = pay_bonds(users, listing)
    prices = {"buyer_org": "256000", "buyer_3": "249800.50", "buyer_coop": "261000"}
    receipts = {k: psvc.submit_bid(users[k], listing, price=p).receipt for k, p in prices.items()}
    db.session.commit()

    rows = db.session.execute(text("SELECT price, document, sealed FROM procurement_bid")).all()
    assert len(rows) == 3 and all(r.price is None and r.document is None for r in rows)
    for r in rows:
        raw = bytes(r.sealed)
        assert all(p.encode() not in raw and p.replace(".50", "").encode() not in raw for p in prices.values())
    with pytest.raises(vault.VaultError):
        vault.unwrap_private_key(vault.vault_key(current_app.config), project.wrapped_key, listing.project_no,
                                 project.opens_at, clock.now())

    to_opening(listing)
    db.session.expire_all()
    assert project.state == "opened" and listing.state == "trading" and project.opened_key
    opened = psvc.opening_record(listing)
    assert {b.supplier_id: b.price for b in opened} == {users[k].id: Decimal(p) for k, p in prices.items()}
    for b in opened:
        assert vault.receipt(b.document.encode("utf-8")) == b.receipt == receipts[
            next(k for k in SUPPLIERS if users[k].id == b.supplier_id)]

    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    assert deal.price == Decimal("249800.50") and deal.buyer_id == users["buyer_3"].id
    assert deal.method == "procurement" and listing.state == "publicity" and project.state == "evaluated"
    assert [r["supplier"] for r in project_outcome(project)["ranked"]] == [
        users[k].display_name for k in ("buyer_3", "buyer_org", "buyer_coop")]


def project_outcome(project):
    import json
    return json.loads(project.outcome_json)
