"""The statistics computed a second way, straight from the base tables (~13 grouped statements): the reference
the day/month rollup of :mod:`exchange.supervision.stats` is tested against (tests/test_stats_rollup.py).  Kept
in the tests, not in the platform: production reads only the rollup."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select

from exchange import clock
from exchange.certificates.models import Certificate
from exchange.contracts.models import Contract
from exchange.extensions import db
from exchange.ledger.models import JournalLine, LedgerAccount, Refund
from exchange.listings.models import Listing, ListingEvent
from exchange.settlement.models import Settlement
from exchange.supervision import stats
from exchange.supervision.stats import (REVIEW_ACTIONS, REVIEW_LOOKBACK, Filters, _area_mu, _blank, _clock_row,
                                        _days, _finish, _key, _money, _ratio, _run, _stage, _where,
                                        seconds_between)
from exchange.trading.models import LIVE_DEAL_STATES, Deal


# --- the measures: each one grouped query ----------------------------------------------------------------

# the listing and deal figures count transfers; a procurement project (招标/采购/招商) is reported apart
TRANSFER_LISTING = Listing.trading_method != "procurement"
TRANSFER_DEAL = Deal.method != "procurement"


def _listing_counts(f: Filters, group, out: dict) -> None:
    for name, col, extra in (("submitted", Listing.submitted_at, [TRANSFER_LISTING]),
                             ("failed", Listing.state_since, [Listing.state == "failed", TRANSFER_LISTING])):
        k = _key(group, col)
        stmt = select(k, func.count(Listing.id)).where(*_where(f, col), *extra)
        for key, n in _run(stmt, k if group else None):
            out.setdefault(key, _blank())["listings"][name] = n


def _review_stage(f: Filters, group, out: dict) -> None:
    k = _key(group, Listing.published_at)
    secs = seconds_between(Listing.submitted_at, Listing.published_at)
    stmt = (select(k, func.count(case((TRANSFER_LISTING, 1))), func.count(Listing.submitted_at), func.avg(secs),
                   func.max(secs))
            .where(*_where(f, Listing.published_at)))
    for key, n, timed, avg, worst in _run(stmt, k if group else None):
        row = out.setdefault(key, _blank())
        row["listings"]["published"] = n
        row["stages"]["review"] = _stage(timed, avg, worst)


def _announce_stage(f: Filters, group, out: dict) -> None:
    k = _key(group, Listing.announce_end_at)
    secs = seconds_between(Listing.published_at, Listing.announce_end_at)
    stmt = (select(k, func.count(Listing.id), func.avg(secs), func.max(secs))
            .where(*_where(f, Listing.announce_end_at), Listing.announce_end_at <= clock.now(),
                   Listing.published_at.is_not(None)))
    for key, n, avg, worst in _run(stmt, k if group else None):
        out.setdefault(key, _blank())["stages"]["announce"] = _stage(n, avg, worst)


def _deals(f: Filters, group, out: dict) -> None:
    k = _key(group, Deal.concluded_at, Deal.method)  # by the method the deal was actually made
    has_floor = Listing.floor_price.is_not(None)
    stmt = (select(k, func.count(Deal.id), func.sum(Deal.price), func.sum(_area_mu()),
                   func.sum(case((has_floor, Deal.price))), func.sum(case((has_floor, Listing.floor_price))),
                   func.count(Listing.floor_price), func.avg(case((has_floor, Deal.price / Listing.floor_price))))
            .join(Listing, Listing.id == Deal.listing_id)
            .where(*_where(f, Deal.concluded_at, Deal.method), Deal.state.in_(LIVE_DEAL_STATES), TRANSFER_DEAL))
    for key, n, amount, area, priced, floor, n_floor, avg_ratio in _run(stmt, k if group else None):
        row = out.setdefault(key, _blank())
        d = row["deals"]
        d["count"] = n
        d["amount"] = _money(amount)
        d["area_mu"] = _money(area)
        d["floor_total"] = _money(floor)
        d["priced_amount"] = _money(priced)
        d["with_floor"] = n_floor
        d["avg_ratio"] = avg_ratio
        row["listings"]["concluded"] = n


def _stage_times(f: Filters, group, out: dict) -> None:
    # 签约: deal → contract effective
    k = _key(group, Contract.effective_at, Deal.method)
    secs = seconds_between(Deal.concluded_at, Contract.effective_at)
    stmt = (select(k, func.count(Contract.id), func.avg(secs), func.max(secs))
            .join(Deal, Deal.id == Contract.deal_id).join(Listing, Listing.id == Contract.listing_id)
            .where(*_where(f, Contract.effective_at, Deal.method)))
    for key, n, avg, worst in _run(stmt, k if group else None):
        out.setdefault(key, _blank())["stages"]["contract"] = _stage(n, avg, worst)
    # 结算: contract effective → settled
    k = _key(group, Settlement.settled_at)
    secs = seconds_between(Contract.effective_at, Settlement.settled_at)
    stmt = (select(k, func.count(Settlement.id), func.avg(secs), func.max(secs))
            .join(Contract, Contract.deal_id == Settlement.deal_id).join(Listing, Listing.id == Settlement.listing_id)
            .where(*_where(f, Settlement.settled_at), Contract.effective_at.is_not(None)))
    for key, n, avg, worst in _run(stmt, k if group else None):
        out.setdefault(key, _blank())["stages"]["settle"] = _stage(n, avg, worst)
    # 鉴证: settled → the first certificate (a corrected one replaces it and is not counted again)
    k = _key(group, Certificate.issued_at)
    secs = seconds_between(Settlement.settled_at, Certificate.issued_at)
    stmt = (select(k, func.count(Certificate.id), func.avg(secs), func.max(secs))
            .join(Settlement, Settlement.deal_id == Certificate.deal_id)
            .join(Listing, Listing.id == Settlement.listing_id)
            .where(*_where(f, Certificate.issued_at), Certificate.replaces_id.is_(None),
                   Settlement.settled_at.is_not(None)))
    for key, n, avg, worst in _run(stmt, k if group else None):
        out.setdefault(key, _blank())["stages"]["certify"] = _stage(n, avg, worst)


def _clock(f: Filters, group, out: dict, name: str, stmt_from, due_col, done_col, extra=()) -> None:
    now = clock.now()
    k = _key(group, due_col)
    met = and_(done_col.is_not(None), done_col < due_col)
    stmt = (stmt_from(select(k, func.count(case((met, 1))), func.count(due_col)))
            .where(*_where(f, due_col), or_(done_col.is_not(None), due_col <= now), *extra))
    for key, n_met, n in _run(stmt, k if group else None):
        out.setdefault(key, _blank())["clocks"][name] = _clock_row(n_met, n)


def _clocks(f: Filters, group, out: dict) -> None:
    _clock(f, group, out, "contract",
           lambda s: s.select_from(Contract).join(Listing, Listing.id == Contract.listing_id),
           Contract.due_at, Contract.effective_at, (Contract.state != "void",))
    _clock(f, group, out, "settle",
           lambda s: s.select_from(Settlement).join(Listing, Listing.id == Settlement.listing_id),
           Settlement.due_at, Settlement.settled_at, (Settlement.state != "void",))
    _clock(f, group, out, "certify",
           lambda s: s.select_from(Settlement).join(Listing, Listing.id == Settlement.listing_id)
           .outerjoin(Certificate, and_(Certificate.deal_id == Settlement.deal_id, Certificate.replaces_id.is_(None))),
           Settlement.certificate_due_at, Certificate.issued_at, (Settlement.state != "void",))
    _clock(f, group, out, "refund",
           lambda s: s.select_from(Refund).join(Listing, Listing.id == Refund.listing_id),
           Refund.due_at, Refund.approved_at)


def _deposits(f: Filters, group, out: dict) -> None:
    if group == "month":
        return
    k = _key(group, None)
    stmt = (select(k, func.sum(JournalLine.amount))
            .select_from(JournalLine).join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
            .join(Listing, Listing.id == LedgerAccount.listing_id)
            .where(LedgerAccount.kind == "deposit", *_where(f)))
    for key, total in _run(stmt, k if group else None):
        out.setdefault(key, _blank())["deposits_held"] = _money(-(Decimal(total or 0)))


MEASURES = (_listing_counts, _review_stage, _announce_stage, _deals, _stage_times, _clocks, _deposits)




def _direct_collect(f: Filters, group: str | None) -> dict:
    """The figures straight from the base tables (~13 grouped statements): the reference the rollup is tested
    against."""
    out: dict = {}
    for measure in MEASURES:
        measure(f, group, out)
    return {key: _finish(row) for key, row in out.items()}




def _direct_ranking(f: Filters, group_col, blank: dict, data: dict) -> None:
    # the review steps, each with the step before it in the same listing (a window over the listing's steps)
    lo = f.start - REVIEW_LOOKBACK if f.start is not None else None
    inner_conds = [ListingEvent.action.in_(REVIEW_ACTIONS)]
    if lo is not None:
        inner_conds.append(ListingEvent.at >= lo)
    if f.end is not None:
        inner_conds.append(ListingEvent.at < f.end)
    steps = (select(ListingEvent.listing_id, ListingEvent.action, ListingEvent.at,
                    func.lag(ListingEvent.action).over(partition_by=ListingEvent.listing_id,
                                                       order_by=(ListingEvent.at, ListingEvent.id)).label("prev"),
                    func.lag(ListingEvent.at).over(partition_by=ListingEvent.listing_id,
                                                   order_by=(ListingEvent.at, ListingEvent.id)).label("prev_at"))
             .where(*inner_conds).subquery())
    secs = seconds_between(steps.c.prev_at, steps.c.at)
    is_station = and_(steps.c.action.in_(("station_pass", "station_return")), steps.c.prev == "submit")
    is_center = and_(steps.c.action.in_(("center_approve", "center_return", "center_reject")),
                     steps.c.prev.in_(("station_pass", "submit", "relist_submit")))
    period = [steps.c.at >= f.start] if f.start is not None else []
    stmt = (select(group_col,
                   func.count(case((steps.c.action.in_(("submit", "relist_submit")), 1))),
                   func.count(case((steps.c.action.in_(("station_return", "center_return")), 1))),
                   func.avg(case((is_station, secs))), func.count(case((is_station, 1))),
                   func.avg(case((is_center, secs))), func.count(case((is_center, 1))))
            .select_from(steps).join(Listing, Listing.id == steps.c.listing_id)
            .where(*_where(f), *period).group_by(group_col))
    for key, subs, rets, st_avg, st_n, ce_avg, ce_n in db.session.execute(stmt):
        row = data.setdefault(key, dict(blank))
        row.update(submissions=subs, returns=rets, return_rate=_ratio(rets, subs),
                   station_review_days=_days(st_avg), station_reviews=st_n,
                   center_review_days=_days(ce_avg), center_reviews=ce_n)
    stmt = (select(group_col, func.count(Deal.id), func.sum(Deal.price)).join(Listing, Listing.id == Deal.listing_id)
            .where(*_where(f, Deal.concluded_at), Deal.state.in_(LIVE_DEAL_STATES), TRANSFER_DEAL).group_by(group_col))
    for key, n, amount in db.session.execute(stmt):
        data.setdefault(key, dict(blank)).update(deals=n, amount=_money(amount))


def direct_summary(f: Filters) -> dict:
    return stats.summary(f, collect=_direct_collect)


def direct_by(group: str, f: Filters) -> list[dict]:
    return stats.BY[group](f, collect=_direct_collect)


def direct_ranking(f: Filters, level: str = "town", sort: str = "submissions", descending: bool = True) -> list[dict]:
    return stats.ranking(f, level, sort, descending, rank_data=_direct_ranking)
