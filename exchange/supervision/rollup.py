"""统计分析 rollup: the additive measures of :mod:`exchange.supervision.stats` per Beijing calendar day, so the
dashboard reads a few thousand pre-summed rows instead of grouping a million deals.

* ``stats_day``: one row per (day, town, village (0: applied directly), category, method) with one column per
  additive measure (counts, sums, worst times, clock parts).  The day of a measure is the local date of the event
  it is about — exactly the column stats.py filters the period on — and its method is the one stats.py filters
  that measure on (``Deal.method`` for the deal figures and the 签约 stage, ``Listing.trading_method`` for the
  rest), so a period ``[from, to]`` of whole local days and the town/village/category/method filters select the
  same events as the direct queries.
* ``stats_month``: the same sums per calendar month (from ``stats_day``), read for the months of a period that
  are whole and over, so a year is ~12 × cells instead of ~365 × cells.
* Time-dependent parts are resolved at read time: a clock counts when its act is done (met / late, on any day)
  or when ``due_at <= now`` (pending, on days before today; today's pending clocks are counted directly from the
  indexed ``due_at``); the 公告 stage counts once ``announce_end_at <= now`` (days before today from the rollup,
  today's directly).  Clocks and announcements due after today are left out, as stats.py does.
* 招标采购 apart (:mod:`exchange.supervision.stats`): a procurement project's measures are in the cells of the method
  ``procurement`` (its listing's and its deal's method); the reading leaves those cells out of the transfers'
  listing and deal figures (:data:`TRANSFER_ONLY`) and keeps them in the stages, clocks, deposits and reviews.
* Freshness: a session listener writes the listing of every new / changed / deleted row the figures depend on
  into ``stats_dirty`` in the same transaction; :func:`refresh` (called before every read) recomputes completely
  the days those listings contribute to now and contributed to before (``stats_listing_day``), then their
  months.  Bulk ``update()`` / ``delete()`` statements on those tables mark everything dirty (listing 0), except
  the no-op self-assignments used as row locks.  Raw SQL bypasses the listener: run :func:`rebuild`
  (``flask stats rebuild``) after one.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from itertools import chain

from sqlalchemy import (Float, and_, case, cast, delete, event, func, insert, literal, or_, select, text,
                        union_all)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import Date, String

from exchange import clock
from exchange.certificates.models import Certificate
from exchange.contracts.models import Contract
from exchange.extensions import db
from exchange.ledger.models import JournalEntry, JournalLine, LedgerAccount, Refund
from exchange.listings.models import Listing, ListingEvent
from exchange.settlement.models import Settlement
from exchange.supervision.models import StatsDay, StatsDirty, StatsListingDay, StatsMonth
from exchange.trading.models import LIVE_DEAL_STATES, Deal

KEY = ("station_id", "point_id", "category_id", "method")
MEASURES = tuple(c.name for c in StatsDay.__table__.columns if not c.primary_key)
STAGE_NAMES = ("review", "announce", "contract", "settle", "certify")
CLOCK_NAMES = ("contract", "settle", "certify", "refund")
EVERYTHING = 0  # the stats_dirty listing id that asks for a rebuild
MAX_LISTINGS = 2000  # more dirty listings than this: rebuild everything
CHUNK = 400
_WROTE = "stats_rollup_wrote"
_LOCK_KEY = 770_812_001  # the PostgreSQL advisory lock of the rollup


# the measures of transfers only: a procurement project's cells (method ``procurement``) are read apart
PROCUREMENT = "procurement"
TRANSFER_ONLY = frozenset({"submitted", "published", "failed", "deals", "deal_amount", "area_mu", "priced_amount",
                           "floor_total", "with_floor", "ratio_sum", "rank_deals", "rank_amount"})


def _sum(r, name: str):
    """The sum of a measure over the rows of ``r``: a transfer-only measure without the procurement cells."""
    if name in TRANSFER_ONLY:
        return func.sum(case((r.c.method == PROCUREMENT, literal(0)), else_=r.c[name]))
    return func.sum(r.c[name])


def _is_max(name: str) -> bool:
    return name.endswith("_seconds_max")


# --- dialect-aware pieces -------------------------------------------------------------------------------

class local_day(FunctionElement):
    """The Beijing calendar date of a naive-UTC timestamp."""
    type = Date()
    name = "local_day"
    inherit_cache = True


@compiles(local_day)
def _ld_default(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"CAST(({compiler.process(col, **kw)} + interval '8 hours') AS DATE)"


@compiles(local_day, "sqlite")
def _ld_sqlite(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"date({compiler.process(col, **kw)}, '+8 hours')"


class day_month(FunctionElement):
    """'YYYY-MM' of a DATE column."""
    type = String()
    name = "day_month"
    inherit_cache = True


@compiles(day_month)
def _dm_default(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"to_char({compiler.process(col, **kw)}, 'YYYY-MM')"


@compiles(day_month, "sqlite")
def _dm_sqlite(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(col, **kw)})"


class month_start(FunctionElement):
    """The first day of the month of a DATE column."""
    type = Date()
    name = "month_start"
    inherit_cache = True


@compiles(month_start)
def _ms_default(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"CAST(date_trunc('month', {compiler.process(col, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _ms_sqlite(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"date({compiler.process(col, **kw)}, 'start of month')"


def _zero(name: str):
    if _is_max(name):
        return cast(None, Float)
    return literal(0)


# --- the contributions: stats.py's measures, per listing and local day -------------------------------------

def _parts(listing_ids=None, ranges=None) -> list:
    """One SELECT per measure, each giving (listing_id, day, station_id, point_id, category_id, method, every
    measure), restricted to some listings and/or to local-day ranges ``[(start, end), …]`` (aware UTC)."""
    from exchange.supervision.stats import REVIEW_ACTIONS, _area_mu, seconds_between

    L = Listing
    parts = []

    def part(from_, anchor, method, measures: dict, *where):
        conds = [anchor.is_not(None), *where]
        if listing_ids is not None:
            conds.append(L.id.in_(listing_ids))
        if ranges is not None:
            conds.append(or_(*[and_(anchor >= a, anchor < b) for a, b in ranges]))
        cols = [L.id.label("listing_id"), local_day(anchor).label("day"), L.station_id.label("station_id"),
                func.coalesce(L.point_id, 0).label("point_id"), L.category_id.label("category_id"),
                method.label("method")]
        cols += [(measures[n] if n in measures else _zero(n)).label(n) for n in MEASURES]
        parts.append(from_(select(*cols)).where(*conds))

    one = literal(1)
    tm = L.trading_method
    just = lambda s: s.select_from(L)  # noqa: E731
    # 提交, 流拍
    part(just, L.submitted_at, tm, {"submitted": one})
    part(just, L.state_since, tm, {"failed": one}, L.state == "failed")
    # 发布 and the 审核 stage
    secs = seconds_between(L.submitted_at, L.published_at)
    part(just, L.published_at, tm, {"published": one, "review_n": case((L.submitted_at.is_not(None), 1), else_=0),
                                    "review_seconds_sum": func.coalesce(secs, 0), "review_seconds_max": secs})
    # 公告 stage (counted at read time only once the end has passed)
    secs = seconds_between(L.published_at, L.announce_end_at)
    part(just, L.announce_end_at, tm, {"announce_n": one, "announce_seconds_sum": secs, "announce_seconds_max": secs},
         L.published_at.is_not(None))
    # 成交: live deals, by the method actually used; the ranking's deals by the listing's method
    deal_from = lambda s: s.select_from(Deal).join(L, L.id == Deal.listing_id)  # noqa: E731
    has_floor = L.floor_price.is_not(None)
    live = Deal.state.in_(LIVE_DEAL_STATES)
    part(deal_from, Deal.concluded_at, Deal.method, {
        "deals": one, "deal_amount": Deal.price, "area_mu": _area_mu(),
        "priced_amount": case((has_floor, Deal.price), else_=0), "floor_total": case((has_floor, L.floor_price), else_=0),
        "with_floor": case((has_floor, 1), else_=0),
        "ratio_sum": case((has_floor, cast(Deal.price / L.floor_price, Float)), else_=0)}, live)
    part(deal_from, Deal.concluded_at, tm, {"rank_deals": one, "rank_amount": Deal.price}, live)
    # 签约 stage: deal → contract effective (by the deal's method)
    secs = seconds_between(Deal.concluded_at, Contract.effective_at)
    part(lambda s: s.select_from(Contract).join(Deal, Deal.id == Contract.deal_id).join(L, L.id == Contract.listing_id),
         Contract.effective_at, Deal.method,
         {"contract_n": one, "contract_seconds_sum": func.coalesce(secs, 0), "contract_seconds_max": secs})
    # 结算 stage
    secs = seconds_between(Contract.effective_at, Settlement.settled_at)
    part(lambda s: s.select_from(Settlement).join(Contract, Contract.deal_id == Settlement.deal_id)
         .join(L, L.id == Settlement.listing_id), Settlement.settled_at, tm,
         {"settle_n": one, "settle_seconds_sum": secs, "settle_seconds_max": secs}, Contract.effective_at.is_not(None))
    # 鉴证 stage: the first certificate
    secs = seconds_between(Settlement.settled_at, Certificate.issued_at)
    part(lambda s: s.select_from(Certificate).join(Settlement, Settlement.deal_id == Certificate.deal_id)
         .join(L, L.id == Settlement.listing_id), Certificate.issued_at, tm,
         {"certify_n": one, "certify_seconds_sum": secs, "certify_seconds_max": secs},
         Certificate.replaces_id.is_(None), Settlement.settled_at.is_not(None))

    # the clocks, by the day of their due instant
    def clock_part(name, from_, due, done, *where):
        part(from_, due, tm, {f"{name}_met": case((and_(done.is_not(None), done < due), 1), else_=0),
                              f"{name}_late": case((and_(done.is_not(None), done >= due), 1), else_=0),
                              f"{name}_pending": case((done.is_(None), 1), else_=0)}, *where)

    clock_part("contract", lambda s: s.select_from(Contract).join(L, L.id == Contract.listing_id),
               Contract.due_at, Contract.effective_at, Contract.state != "void")
    clock_part("settle", lambda s: s.select_from(Settlement).join(L, L.id == Settlement.listing_id),
               Settlement.due_at, Settlement.settled_at, Settlement.state != "void")
    clock_part("certify", lambda s: s.select_from(Settlement).join(L, L.id == Settlement.listing_id)
               .outerjoin(Certificate, and_(Certificate.deal_id == Settlement.deal_id, Certificate.replaces_id.is_(None))),
               Settlement.certificate_due_at, Certificate.issued_at, Settlement.state != "void")
    clock_part("refund", lambda s: s.select_from(Refund).join(L, L.id == Refund.listing_id),
               Refund.due_at, Refund.approved_at)

    # 考评: the review steps, each with the step before it in the same listing (over all its steps)
    ev_conds = [ListingEvent.action.in_(REVIEW_ACTIONS)]
    if listing_ids is not None:
        ev_conds.append(ListingEvent.listing_id.in_(listing_ids))
    if ranges is not None:
        ev_conds.append(ListingEvent.listing_id.in_(
            select(ListingEvent.listing_id).where(ListingEvent.action.in_(REVIEW_ACTIONS),
                                                  or_(*[and_(ListingEvent.at >= a, ListingEvent.at < b)
                                                        for a, b in ranges]))))
    order = (ListingEvent.at, ListingEvent.id)
    steps = (select(ListingEvent.listing_id, ListingEvent.action, ListingEvent.at,
                    func.lag(ListingEvent.action).over(partition_by=ListingEvent.listing_id, order_by=order).label("prev"),
                    func.lag(ListingEvent.at).over(partition_by=ListingEvent.listing_id, order_by=order).label("prev_at"))
             .where(*ev_conds).subquery("steps"))
    secs = seconds_between(steps.c.prev_at, steps.c.at)
    is_station = and_(steps.c.action.in_(("station_pass", "station_return")), steps.c.prev == "submit")
    is_center = and_(steps.c.action.in_(("center_approve", "center_return", "center_reject")),
                     steps.c.prev.in_(("station_pass", "submit", "relist_submit")))
    part(lambda s: s.select_from(steps).join(L, L.id == steps.c.listing_id), steps.c.at, tm, {
        "submissions": case((steps.c.action.in_(("submit", "relist_submit")), 1), else_=0),
        "returns": case((steps.c.action.in_(("station_return", "center_return")), 1), else_=0),
        "station_reviews": case((is_station, 1), else_=0), "station_seconds_sum": case((is_station, secs), else_=0),
        "center_reviews": case((is_center, 1), else_=0), "center_seconds_sum": case((is_center, secs), else_=0)})
    # 在途保证金: the deposit accounts' lines (a balance: read over all days)
    part(lambda s: s.select_from(JournalLine).join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
         .join(L, L.id == LedgerAccount.listing_id).join(JournalEntry, JournalEntry.id == JournalLine.entry_id),
         JournalEntry.at, tm, {"deposit_net": JournalLine.amount}, LedgerAccount.kind == "deposit")
    return parts


def _aggregated(parts):
    u = union_all(*parts).subquery("c")
    key = [u.c.day, *[u.c[k] for k in KEY]]
    aggs = [(func.max(u.c[n]) if _is_max(n) else func.coalesce(func.sum(u.c[n]), 0)) for n in MEASURES]
    return select(*key, *aggs).group_by(*key)


CELL = ("day", *KEY)


def _pairs(parts):
    """(listing_id, day, station_id, point_id, category_id, method): the cells each listing contributes to."""
    u = union_all(*[p.with_only_columns(*[p.selected_columns[c] for c in ("listing_id", *CELL)]) for p in parts])
    u = u.subquery("c")
    return select(u.c.listing_id, *[u.c[c] for c in CELL]).distinct()


def _cell_cond(t, cells):
    return or_(*[and_(*[t.c[c] == v for c, v in zip(CELL, cell)]) for cell in cells])


# --- refresh / rebuild ---------------------------------------------------------------------------------------

def _chunks(items, n=CHUNK):
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _day_ranges(days) -> list[tuple[date, date]]:
    """Sorted days → [(first, after_last)] runs of consecutive days."""
    out: list[list[date]] = []
    for d in sorted(set(days)):
        if out and out[-1][1] == d:
            out[-1][1] = d + timedelta(days=1)
        else:
            out.append([d, d + timedelta(days=1)])
    return [(a, b) for a, b in out]


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _lock(conn) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    else:  # SQLite: take the database's write lock (the rollup is then read and written by this writer only)
        conn.execute(text("UPDATE audit_head SET id = id WHERE 1 = 0"))


def _rebuild_in(conn) -> None:
    for model in (StatsDay, StatsMonth, StatsListingDay):
        conn.execute(delete(model))
    parts = _parts()
    conn.execute(insert(StatsDay).from_select(["day", *KEY, *MEASURES], _aggregated(parts)))
    conn.execute(insert(StatsListingDay).from_select(["listing_id", *CELL], _pairs(parts)))
    _months_in(conn, None)


def _months_in(conn, cells) -> None:
    """Recompute stats_month for these cells ((first day of the month, *KEY); None: all) from stats_day."""
    D, M = StatsDay.__table__, StatsMonth.__table__
    batches = [None] if cells is None else list(_chunks(sorted(cells), 100))
    for batch in batches:
        conds = []
        if batch is not None:
            conds.append(or_(*[and_(D.c.day >= c[0], D.c.day < _next_month(c[0]),
                                    *[D.c[k] == v for k, v in zip(KEY, c[1:])]) for c in batch]))
            conn.execute(delete(StatsMonth).where(or_(*[and_(M.c.month == c[0], *[M.c[k] == v for k, v in zip(KEY, c[1:])])
                                                        for c in batch])))
        key = [month_start(StatsDay.day), *[StatsDay.__table__.c[k] for k in KEY]]
        aggs = [(func.max(StatsDay.__table__.c[n]) if _is_max(n) else func.sum(StatsDay.__table__.c[n]))
                for n in MEASURES]
        sel = select(*key, *aggs).where(*conds).group_by(*key)
        conn.execute(insert(StatsMonth).from_select(["month", *KEY, *MEASURES], sel))


def _cells_in(conn, cells) -> None:
    """Recompute completely these stats_day cells (day, *KEY), then their months' cells.  The listings that
    contribute to a cell are those stats_listing_day lists for it (complete: filled by rebuild, rewritten for
    every changed listing before this runs), so only those few listings are read from the base tables."""
    D, LD = StatsDay.__table__, StatsListingDay.__table__
    for batch in _chunks(sorted(cells), 100):
        conn.execute(delete(StatsDay).where(_cell_cond(D, batch)))
        ids = list(conn.execute(select(LD.c.listing_id).where(_cell_cond(LD, batch)).distinct()).scalars())
        if not ids:
            continue
        ranges = [(clock.local_datetime(a), clock.local_datetime(b)) for a, b in _day_ranges(c[0] for c in batch)]
        agg = _aggregated(_parts(listing_ids=ids, ranges=ranges)).subquery("a")
        conn.execute(insert(StatsDay).from_select(["day", *KEY, *MEASURES],
                                                  select(agg).where(_cell_cond(agg, batch))))
    _months_in(conn, {(c[0].replace(day=1), *c[1:]) for c in cells})


def _as_date(v) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def _refresh_in(conn) -> int:
    """Bring the rollup up to date on ``conn`` (in its transaction).  Returns how many listings were dirty."""
    if conn.execute(select(StatsDirty.listing_id).limit(1)).first() is None:
        return 0
    _lock(conn)
    stmt = select(StatsDirty.listing_id).order_by(StatsDirty.listing_id)
    if conn.dialect.name == "postgresql":
        # rows a transaction in flight is writing are left for the refresh after it commits
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(conn.execute(stmt).scalars())
    if not ids:
        return 0
    if EVERYTHING in ids or len(ids) > MAX_LISTINGS:
        _rebuild_in(conn)
    else:
        LD = StatsListingDay.__table__
        pairs = []
        for chunk in _chunks(ids):
            pairs += [(r[0], _as_date(r[1]), *r[2:]) for r in conn.execute(_pairs(_parts(listing_ids=chunk)))]
        cells = {p[1:] for p in pairs}
        for chunk in _chunks(ids):  # the cells they contributed to before
            cells |= {(_as_date(r[0]), *r[1:]) for r in conn.execute(
                select(*[LD.c[c] for c in CELL]).where(LD.c.listing_id.in_(chunk)).distinct())}
            conn.execute(delete(StatsListingDay).where(StatsListingDay.listing_id.in_(chunk)))
        if pairs:
            conn.execute(insert(StatsListingDay), [dict(zip(("listing_id", *CELL), p)) for p in pairs])
        if cells:
            _cells_in(conn, cells)
    for chunk in _chunks(ids):
        conn.execute(delete(StatsDirty).where(StatsDirty.listing_id.in_(chunk)))
    return len(ids)


def refresh() -> int:
    """Recompute the days the changed listings touch (cheap when nothing changed).  When the current session
    has written in its transaction, in that transaction (it sees its own changes; the caller commits or rolls
    back); otherwise in a short transaction of its own, committed at once, so every reader profits."""
    session = db.session()
    if session.info.get(_WROTE):
        return _refresh_in(session.connection())
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL lock_timeout = '60s'"))
        return _refresh_in(conn)


def rebuild() -> None:
    """Recompute the whole rollup (after raw SQL, or to check it), in its own committed transaction."""
    with db.engine.begin() as conn:
        _lock(conn)
        ids = list(conn.execute(select(StatsDirty.listing_id)).scalars())
        _rebuild_in(conn)
        for chunk in _chunks(ids):
            conn.execute(delete(StatsDirty).where(StatsDirty.listing_id.in_(chunk)))


# --- marking listings dirty ------------------------------------------------------------------------------------

_DIRECT = (ListingEvent, Deal, Contract, Settlement, Refund, LedgerAccount)
_TRACKED_TABLES = {m.__table__.name for m in (Listing, Certificate, JournalLine, JournalEntry, *_DIRECT)}


def _mark(conn, ids) -> None:
    rows = [{"listing_id": i} for i in sorted(ids)]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        stmt = pg_insert(StatsDirty).on_conflict_do_update(index_elements=["listing_id"],
                                                           set_={"listing_id": text("excluded.listing_id")})
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        stmt = sqlite_insert(StatsDirty).on_conflict_do_nothing(index_elements=["listing_id"])
    conn.execute(stmt, rows)


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context) -> None:
    session.info[_WROTE] = True
    ids: set = set()
    deals: set = set()
    accounts: set = set()
    entries: set = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Listing):
            ids.add(obj.id)
        elif isinstance(obj, _DIRECT):
            ids.add(obj.listing_id)
        elif isinstance(obj, Certificate):
            deals.add(obj.deal_id)
        elif isinstance(obj, JournalLine):
            accounts.add(obj.account_id)
        elif isinstance(obj, JournalEntry) and obj in session.dirty:
            entries.add(obj.id)  # its date moved: the listings of its deposit lines
    conn = session.connection()
    if deals - {None}:
        ids |= set(conn.execute(select(Deal.listing_id).where(Deal.id.in_(deals - {None}))).scalars())
    if accounts - {None}:
        ids |= set(conn.execute(select(LedgerAccount.listing_id).where(LedgerAccount.id.in_(accounts - {None}),
                                                                        LedgerAccount.kind == "deposit")).scalars())
    if entries - {None}:
        ids |= set(conn.execute(select(LedgerAccount.listing_id).join(JournalLine, JournalLine.account_id == LedgerAccount.id)
                                .where(JournalLine.entry_id.in_(entries - {None}))).scalars())
    ids.discard(None)
    if ids:
        _mark(conn, ids)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def _is_lock_trick(stmt) -> bool:
    """``update(T).values(col=T.col)``: a row lock, no change."""
    values = getattr(stmt, "_values", None) or {}
    if not values:
        return False
    for k, v in values.items():
        name = k if isinstance(k, str) else getattr(k, "key", None)
        v = getattr(v, "value", v)  # a BindParameter wraps literal values
        if not (isinstance(v, ColumnElement) and getattr(v, "key", None) == name and hasattr(v, "table")):
            return False
    return True


@event.listens_for(Session, "do_orm_execute")
def _bulk(state) -> None:
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.local_table.name not in _TRACKED_TABLES:
        return
    if state.is_update and _is_lock_trick(state.statement):
        return
    state.session.info[_WROTE] = True
    _mark(state.session.connection(), [EVERYTHING])


# --- reading ---------------------------------------------------------------------------------------------------------

def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _source(f, today: date, columns, *, deposits: bool):
    """A subquery of (station_id, point_id, category_id, method, day, columns…): the period's whole, past months
    from stats_month and its other days from stats_day (time-dependent parts resolved for ``today``); with
    ``deposits``, also every month's deposit lines (a balance ignores the period)."""
    lo, hi = f.date_from, f.date_to
    cut = today - timedelta(days=1) if hi is None or hi >= today else hi  # months must end by here
    m_hi = cut + timedelta(days=1) if (cut + timedelta(days=1)).day == 1 else cut.replace(day=1)  # exclusive
    m_lo = None if lo is None else (lo if lo.day == 1 else _next_month(lo))
    use_months = m_lo is None or m_lo < m_hi
    branches = []

    def filt(t):
        conds = []
        if f.station_id is not None:
            conds.append(t.c.station_id == f.station_id)
        if f.point_id is not None:
            conds.append(t.c.point_id == f.point_id)
        if f.category_id is not None:
            conds.append(t.c.category_id == f.category_id)
        if f.method is not None:
            conds.append(t.c.method == f.method)
        return conds

    def branch(t, day_col, values, conds):
        cols = [t.c[k] for k in KEY] + [day_col.label("day")]
        cols += [values.get(n, _zero(n)).label(n) for n in columns]
        branches.append(select(*cols).where(*filt(t), *conds))

    M, D = StatsMonth.__table__, StatsDay.__table__
    period_cols = [n for n in columns if n != "deposit_net"]
    if use_months:
        conds = [M.c.month < m_hi] + ([M.c.month >= m_lo] if m_lo is not None else [])
        branch(M, M.c.month, {n: M.c[n] for n in period_cols}, conds)
    # the days not covered by those months
    day_ranges = []
    if use_months:
        if lo is not None and lo < m_lo:
            day_ranges.append((lo, m_lo))
        day_ranges.append((m_hi, hi + timedelta(days=1) if hi is not None else None))
    else:
        day_ranges.append((lo, hi + timedelta(days=1) if hi is not None else None))
    day_conds = []
    for a, b in day_ranges:
        c = []
        if a is not None:
            c.append(D.c.day >= a)
        if b is not None:
            c.append(D.c.day < b)
        day_conds.append(and_(*c) if c else literal(True))
    past = D.c.day < today
    values = {}
    for n in period_cols:
        if n.startswith("announce_") or n.endswith("_pending"):  # only once passed (today: see _today)
            values[n] = case((past, D.c[n]), else_=None if _is_max(n) else 0)
        else:
            values[n] = D.c[n]
    branch(D, D.c.day, values, [or_(*day_conds)])
    if deposits and "deposit_net" in columns:
        branch(M, M.c.month, {"deposit_net": M.c.deposit_net}, [M.c.deposit_net != 0])
    return union_all(*branches).subquery("r")


def _group_key(group, r):
    if group is None:
        return literal(0)
    return {"month": lambda: day_month(r.c.day), "town": lambda: r.c.station_id, "village": lambda: r.c.point_id,
            "category": lambda: r.c.category_id, "method": lambda: r.c.method}[group]()


def _today(f, group, today: date) -> dict:
    """Today's time-dependent parts, from the base tables (indexed due instants): the announcements that
    ended and the pending clocks that fell due between today's 00:00 and now."""
    from exchange.supervision.stats import _key, _where, seconds_between
    if (f.date_from and today < f.date_from) or (f.date_to and today > f.date_to):
        return {}
    start, now = clock.local_datetime(today), clock.now()
    names = ("announce_n", "announce_seconds_sum", "announce_seconds_max", "contract_pending", "settle_pending",
             "certify_pending", "refund_pending")
    branches = []

    def branch(from_, col, values, *where, method_col=None):
        k = _key(group, col, method_col)
        cols = [k.label("k")] + [values.get(n, _zero(n)).label(n) for n in names]
        branches.append(from_(select(*cols)).where(col >= start, col <= now, *_where(f), *where))

    L = Listing
    secs = seconds_between(L.published_at, L.announce_end_at)
    branch(lambda s: s.select_from(L), L.announce_end_at,
           {"announce_n": literal(1), "announce_seconds_sum": secs, "announce_seconds_max": secs},
           L.published_at.is_not(None))
    one = literal(1)
    branch(lambda s: s.select_from(Contract).join(L, L.id == Contract.listing_id), Contract.due_at,
           {"contract_pending": one}, Contract.effective_at.is_(None), Contract.state != "void")
    branch(lambda s: s.select_from(Settlement).join(L, L.id == Settlement.listing_id), Settlement.due_at,
           {"settle_pending": one}, Settlement.settled_at.is_(None), Settlement.state != "void")
    branch(lambda s: s.select_from(Settlement).join(L, L.id == Settlement.listing_id)
           .outerjoin(Certificate, and_(Certificate.deal_id == Settlement.deal_id, Certificate.replaces_id.is_(None))),
           Settlement.certificate_due_at, {"certify_pending": one}, Certificate.issued_at.is_(None),
           Settlement.state != "void")
    branch(lambda s: s.select_from(Refund).join(L, L.id == Refund.listing_id), Refund.due_at,
           {"refund_pending": one}, Refund.approved_at.is_(None))
    out: dict = {}
    for row in db.session.execute(union_all(*branches)):
        key = row.k if group else 0
        if group == "village" and key is None:
            key = 0  # as the rollup keys a listing applied for directly
        acc = out.setdefault(key, {n: (None if _is_max(n) else 0) for n in names})
        for n in names:
            v = getattr(row, n)
            if v is None:
                continue
            acc[n] = (v if acc[n] is None else max(acc[n], v)) if _is_max(n) else acc[n] + v
    return out


def collect(f, group: str | None) -> dict:
    """stats._collect's result (group key → finished row) from the rollup."""
    from exchange.supervision.stats import _blank, _finish, _money, _stage, _clock_row
    today = clock.today_local()
    r = _source(f, today, MEASURES, deposits=group != "month")
    k = _group_key(group, r)
    aggs = [(func.max(r.c[n]) if _is_max(n) else _sum(r, n)).label(n) for n in MEASURES]
    stmt = select(k.label("k"), *aggs)
    if group is not None:
        stmt = stmt.group_by(k)
    sums: dict = {}
    for row in db.session.execute(stmt):
        key = row.k if group else 0
        sums[key] = {n: getattr(row, n) for n in MEASURES}
    for key, extra in _today(f, group, today).items():
        acc = sums.setdefault(key, {n: None for n in MEASURES})
        for n, v in extra.items():
            if _is_max(n):
                acc[n] = v if acc[n] is None else (acc[n] if v is None else max(acc[n], v))
            else:
                acc[n] = (acc[n] or 0) + v
    out = {}
    for key, s in sums.items():
        g = {n: (s[n] if _is_max(n) else (s[n] or 0)) for n in MEASURES}
        if not any(g[n] for n in MEASURES):  # only future clocks / announcements: nothing to show
            continue
        if group == "village" and key == 0:
            key = None
        row = _blank()
        li, d = row["listings"], row["deals"]
        li.update(submitted=int(g["submitted"]), published=int(g["published"]), concluded=int(g["deals"]),
                  failed=int(g["failed"]))
        d.update(count=int(g["deals"]), amount=_money(g["deal_amount"]), area_mu=_money(g["area_mu"]),
                 floor_total=_money(g["floor_total"]), priced_amount=_money(g["priced_amount"]),
                 with_floor=int(g["with_floor"]),
                 avg_ratio=(float(g["ratio_sum"]) / int(g["with_floor"]) if g["with_floor"] else None))
        if group != "month":
            row["deposits_held"] = _money(-Decimal(str(g["deposit_net"])))
        for st in STAGE_NAMES:
            n = int(g[f"{st}_n"])
            row["stages"][st] = _stage(n, float(g[f"{st}_seconds_sum"]) / n if n else None,
                                       g[f"{st}_seconds_max"] if n else None)
        for c in CLOCK_NAMES:
            met = int(g[f"{c}_met"])
            row["clocks"][c] = _clock_row(met, met + int(g[f"{c}_late"]) + int(g[f"{c}_pending"]))
        out[key] = _finish(row)
    return out


RANK_MEASURES = ("submissions", "returns", "station_reviews", "station_seconds_sum", "center_reviews",
                 "center_seconds_sum", "rank_deals", "rank_amount")


def ranking_data(f, level: str) -> dict:
    """Per town / village: the ranking's sums {key: (submissions, returns, station reviews and seconds,
    center reviews and seconds, deals, amount)}."""
    r = _source(f, clock.today_local(), RANK_MEASURES, deposits=False)
    k = r.c.station_id if level == "town" else r.c.point_id
    stmt = select(k.label("k"), *[_sum(r, n).label(n) for n in RANK_MEASURES]).group_by(k)
    out = {}
    for row in db.session.execute(stmt):
        vals = {n: getattr(row, n) or 0 for n in RANK_MEASURES}
        if not any(vals.values()):
            continue
        key = None if (level == "village" and row.k == 0) else row.k
        out[key] = vals
    return out

