"""The statistics rollup (stats_day / stats_month, exchange/supervision/rollup.py): the dashboard's figures read
from it equal the direct queries over the base tables, for many filters, groupings and clock instants, after
changes through the ORM, the services, bulk statements and rolled-back transactions; rebuild() equals the
incremental refresh; the CLI."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update

from exchange import clock
from exchange.ledger.models import Refund
from exchange.listings.models import Listing
from exchange.supervision import rollup, stats
from tests.stats_reference import direct_by, direct_ranking, direct_summary
from exchange.supervision.models import StatsDay, StatsDirty, StatsListingDay, StatsMonth
from exchange.trading.models import Deal
from tests.builders import NOV, PDF, bj, full_path, set_fee

pytestmark = pytest.mark.usefixtures("uploads")

D = Decimal
BLANK = stats._finish(stats._blank())


def _norm(rows):
    """Rows without the all-zero ones (the direct queries may list an extra all-zero “other” row)."""
    return [r for r in rows if {k: v for k, v in r.items() if k not in ("key", "label")} != BLANK]


def _args(orgs):
    today = clock.today_local().isoformat()
    return [{}, NOV, {"month": "2026-12"}, {"month": "2026-10"}, {"from": "2026-11-10", "to": "2026-12-20"},
            {"from": "2026-11-15"}, {"to": "2026-11-20"}, {"from": today, "to": today}, {"quarter": "2026Q4"},
            {**NOV, "town": str(orgs.station_a.id)}, {**NOV, "village": str(orgs.point_a1.id)},
            {"town": str(orgs.station_b.id)}, {**NOV, "category": "C01"}, {"method": "agreement"},
            {**NOV, "method": "online_bidding"}, {"method": "sealed_bid", "category": "C02"}]


def assert_same(orgs, extra=()):
    checked = 0
    for args in [*_args(orgs), *extra]:
        f = stats.parse_filters(args)
        assert stats.summary(f) == direct_summary(f), args
        for group in stats.BY:
            assert _norm(stats.BY[group](f)) == _norm(direct_by(group, f)), (args, group)
        for level in ("town", "village"):
            for sort in ("submissions", "amount", "center_review_days"):
                assert stats.ranking(f, level, sort) == direct_ranking(f, level, sort), (args, level, sort)
        checked += 1
    return checked


def test_rollup_equals_direct_on_the_known_data(data, orgs, db):
    assert assert_same(orgs) >= 16
    s = stats.summary(stats.parse_filters(NOV))
    assert s["deals"]["amount"] == D("430000.00") and s["clocks"]["contract"]["total"] == 3  # not all zeros
    assert db.session.scalar(select(func.count()).select_from(StatsDirty)) == 0
    assert db.session.scalar(select(func.count()).select_from(StatsDay)) > 0
    assert db.session.scalar(select(func.count()).select_from(StatsMonth)) > 0


@pytest.mark.parametrize("at", [bj(12, 4, 9), bj(12, 4, 9) + timedelta(minutes=30), bj(12, 4, 10),
                                bj(12, 4, 11), bj(12, 20, 8), bj(12, 20, 9), bj(12, 20, 10), bj(11, 20, 12),
                                bj(12, 1, 0), bj(12, 31, 23)])
def test_time_dependent_parts_are_exact_at_any_instant(data, orgs, at):
    """Clocks due today (L2 settles by 12-04 10:00, L7's refund by 12-20 09:00) and the announcement ending today
    (L7, 12-04 09:00) count from the instant they fall due, as the direct queries do."""
    clock.freeze(at)
    day = clock.today_local().isoformat()
    assert_same(orgs, extra=[{"from": day, "to": day}, {"from": day}, {"to": day}])


def test_clock_falling_due_today_is_counted_from_its_instant(data, orgs):
    f = stats.parse_filters({"month": "2026-12"})
    clock.freeze(bj(12, 20, 8))
    before = stats.summary(f)["clocks"]["refund"]
    clock.freeze(bj(12, 20, 9))
    after = stats.summary(f)["clocks"]["refund"]
    assert (before["total"], after["total"], after["missed"]) == (0, 1, 1)


def test_changes_through_the_orm_are_seen(data, orgs, users, db):
    L = data.L
    l3 = db.session.get(Listing, L[3].id)
    l3.category_id = db.session.get(Listing, L[1].id).category_id  # another key
    l4 = db.session.get(Listing, L[4].id)
    l4.submitted_at = bj(9, 3)  # another day and month: the old day must lose it
    l4.station_id, l4.point_id = orgs.station_a.id, orgs.point_a2.id
    db.session.commit()
    assert assert_same(orgs)
    assert stats.summary(stats.parse_filters({"month": "2026-10"}))["listings"]["submitted"] == 0
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == L[1].id))
    deal.state = "defaulted"  # no longer a live deal
    db.session.delete(db.session.scalar(select(Refund).where(Refund.listing_id == L[4].id)))
    db.session.commit()
    assert assert_same(orgs)
    assert stats.summary(stats.parse_filters(NOV))["deals"]["count"] == 2
    db.session.delete(db.session.scalar(select(Refund).where(Refund.listing_id == L[7].id)))
    db.session.commit()
    assert rollup.refresh() == 1 and rollup.refresh() == 0
    # the rollup equals what a rebuild computes from scratch
    cols = [c for c in StatsDay.__table__.columns]
    incremental = db.session.execute(select(*cols).order_by(*[c for c in cols if c.primary_key])).all()
    ld = StatsListingDay.__table__
    pairs = db.session.execute(select(ld).order_by(*ld.primary_key)).all()
    months = db.session.execute(select(StatsMonth.__table__).order_by(*StatsMonth.__table__.primary_key)).all()
    db.session.rollback()
    rollup.rebuild()
    assert db.session.execute(select(*cols).order_by(*[c for c in cols if c.primary_key])).all() == incremental
    assert db.session.execute(select(ld).order_by(*ld.primary_key)).all() == pairs
    assert db.session.execute(select(StatsMonth.__table__).order_by(*StatsMonth.__table__.primary_key)).all() == months


def test_an_uncommitted_change_is_seen_by_its_transaction_and_gone_after_rollback(data, orgs, db):
    f = stats.parse_filters(NOV)
    before = stats.summary(f)
    db.session.get(Listing, data.L[2].id).submitted_at = bj(10, 2)
    db.session.flush()
    assert stats.summary(f)["listings"]["submitted"] == before["listings"]["submitted"] - 1
    assert stats.summary(f) == direct_summary(f)
    db.session.rollback()
    assert stats.summary(f) == before == direct_summary(f)


def test_bulk_statements_mark_everything_but_row_lock_tricks_do_not(data, orgs, db):
    stats.summary(stats.parse_filters({}))  # clean
    db.session.execute(update(Deal).where(Deal.listing_id == data.L[1].id).values(deal_no=Deal.deal_no)
                       .execution_options(synchronize_session=False))
    assert db.session.scalar(select(func.count()).select_from(StatsDirty)) == 0
    db.session.commit()
    db.session.execute(update(Listing).where(Listing.id == data.L[5].id).values(trading_method="auction")
                       .execution_options(synchronize_session=False))
    assert db.session.scalar(select(StatsDirty.listing_id)) == rollup.EVERYTHING
    db.session.commit()
    assert assert_same(orgs)
    methods = {r["key"]: r for r in stats.by_method(stats.parse_filters(NOV))}
    assert methods["auction"]["listings"]["submitted"] == 1  # L5
    db.session.execute(delete(Refund).where(Refund.listing_id == data.L[7].id))
    db.session.commit()
    assert assert_same(orgs)


def test_service_flow_deal_contract_settlement_certificate(users, effective, orgs, db):
    """Through the real services: deposit, agreement deal, contract, settlement with fees and payout, then
    the sweeper; the figures equal the direct ones at each step and the ledger balances."""
    from exchange.ledger.services import check
    from exchange.settlement import services as stl
    assert assert_same(orgs)
    set_fee(users, rate="0.01", min_fee="2000", payer="both")
    s = stl.ensure_settlement(effective)
    db.session.commit()
    assert assert_same(orgs)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-1", receipt=PDF,
                        receipt_filename="r.pdf")
    db.session.commit()
    full_path(users, s, db)
    assert assert_same(orgs)
    today = clock.today_local()
    f = stats.parse_filters({"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()})
    got = stats.summary(f)
    assert got["deals"]["count"] == 1 and got["stages"]["settle"]["count"] == 1
    assert got["deposits_held"] == direct_summary(f)["deposits_held"]
    clock.advance(timedelta(days=12))
    assert assert_same(orgs)
    assert check() == []


def test_cli_rebuild(app, data, db):
    db.session.execute(delete(StatsDay))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0 and "统计汇总已重新计算" in result.output
    assert db.session.scalar(select(func.count()).select_from(StatsDay)) > 0
    f = stats.parse_filters(NOV)
    assert stats.summary(f) == direct_summary(f)
