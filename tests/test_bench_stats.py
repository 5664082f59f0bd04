"""The statistics benchmark's generator and timing loop at a tiny size on the test database: consistent rows and
the JSON shape of its last line (no timing assertions)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from bench import stats as bench
from exchange import clock
from exchange.supervision import stats


def test_generator_and_result_shape(app, db):
    from exchange.contracts.models import Contract
    from exchange.ledger.services import check
    from exchange.listings.models import Listing
    from exchange.trading.models import Deal

    result = bench.run(app, 2000, repeat=1)
    assert result["bench"] == "stats" and result["deals"] == 2000 and result["listings"] == 2000 + 400 + 100
    assert set(result["queries_ms"]) == set(bench.queries(app)) and all(
        isinstance(v, float) and v >= 0 for v in result["queries_ms"].values())
    assert result["target_ms"] == 300 and result["worst_ms"] == max(
        v for k, v in result["queries_ms"].items() if not k.endswith("_3y"))
    assert "open_feed_page_ms" not in result or result["open_feed_page_ms"] >= 0
    # consistent rows: every deal has its listing, contract and registration; 流拍 listings have none
    assert db.session.scalar(select(func.count(Deal.id))) == 2000
    assert db.session.scalar(select(func.count(Contract.id))) == 2000
    assert db.session.scalar(select(func.count(Listing.id)).where(Listing.state == "failed")) == 400
    assert db.session.scalar(select(func.count(Deal.id)).join(Listing, Listing.id == Deal.listing_id)
                             .where(Listing.state.in_(("settlement", "certification", "completed")))) == 2000
    clock.freeze(bench.NOW)
    s = stats.summary(stats.parse_filters({"from": "2024-01-01", "to": "2026-12-31"}))
    assert s["listings"]["concluded"] == 2000 and s["listings"]["failed"] == 400
    assert s["deals"]["amount"] > 0 and s["deals"]["premium_rate"] > Decimal("0")
    assert 0 < s["clocks"]["contract"]["share"] < 1 and s["stages"]["certify"]["count"] > 0
    ranks = stats.ranking(stats.parse_filters({"from": "2024-01-01", "to": "2026-12-31"}))
    assert sum(r["submissions"] for r in ranks) > 2500 and all(r["returns"] >= 0 for r in ranks)
    assert check() == []
