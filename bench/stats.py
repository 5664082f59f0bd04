"""Statistics over a million deals (target ≤ 300 ms per dashboard query, DESIGN §5).

1. Creates a fresh PostgreSQL database (``--database``: the server's admin URL), migrates it, creates the
   county's org tree (14 towns and their villages) and one buyer through the services.
2. Generates ``--deals`` concluded listings with consistent rows — listing, its review history (submit, 交易站
   pass or return and resubmit, center approve), registration, deal, contract, settlement, 鉴证书, a few
   refunds — plus 流拍 listings (a fifth of the deals) and listings still in review, spread over three years
   (2024–2026, Beijing time), with ``INSERT … SELECT generate_series`` (Python-side column defaults are filled
   in from the models, so the rows are what the app would write); and, if the open-data feed exists, its
   changes rows.  Then ``VACUUM ANALYZE``.
3. Builds the statistics rollup (``rollup.rebuild()``, timed: ``rollup_rebuild_s``).  With the clock at
   2026-12-31 12:00 Beijing time, times each dashboard query of
   :mod:`exchange.supervision.stats` (median of ``--repeat`` runs after a warm-up): the dashboard's default
   period (this year so far) citywide and for one town, and the whole three years; and the open feed's page
   (``/api/v1/open/changes``) in-process.
4. Prints lines for people, then one JSON object as the last line; drops the database (``--keep`` keeps it).

``--database sqlite:///path`` runs the same generator on SQLite (used by the test at a tiny size).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 300
NOW = datetime(2026, 12, 31, 4, 0, tzinfo=timezone.utc)  # 2026-12-31 12:00 Beijing
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
SPAN_DAYS = 1050  # ~ three years of activity, everything concluded before the end of 2026


def _fill_defaults(table, given: dict):
    """Column expressions for INSERT … SELECT: ``given`` plus the models' Python-side defaults of the other
    NOT NULL columns (a scalar as a literal, ``clock.now`` as the fixed bench instant)."""
    from sqlalchemy import literal
    out = dict(given)
    for col in table.columns:
        if col.name in out or col.primary_key or col.nullable or col.server_default is not None:
            continue
        d = col.default
        if d is None:
            raise RuntimeError(f"{table.name}.{col.name} needs a value")
        value = d.arg
        if callable(value):
            value = NOW
        out[col.name] = literal(value, type_=col.type)
    return out


def _insert_select(conn, model, given: dict, from_obj, where=None):
    from sqlalchemy import insert, select
    table = model.__table__
    cols = _fill_defaults(table, given)
    sel = select(*[expr.label(name) for name, expr in cols.items()]).select_from(from_obj)
    if where is not None:
        sel = sel.where(where)
    conn.execute(insert(table).from_select(list(cols), sel))


def build(app, deals: int, seed: float = 0.42) -> dict:
    """Generate the data set (see the module docstring); returns counts."""
    from sqlalchemy import (Integer, and_, case, cast, column, func, literal, literal_column, select, table,
                            text, values)

    from exchange.accounts.services import SignUp as NewAccount, register_public
    from exchange.audit.services import acting_as
    from exchange.catalog.models import Category, TransferMethod
    from exchange.certificates.models import Certificate
    from exchange.contracts.models import Contract
    from exchange.demo import TOWNS
    from exchange.extensions import db
    from exchange.idcheck import make_resident_id
    from exchange.ledger.models import LedgerAccount, Refund
    from exchange.listings.models import Listing, ListingEvent
    from exchange.orgs.services import create_org
    from exchange.registrations.models import Registration
    from exchange.settlement.models import Settlement
    from exchange.trading.models import Deal

    n_deal = deals
    n_failed = max(1, deals // 5)
    n_open = max(1, deals // 20)
    n_listing = n_deal + n_failed + n_open
    with app.app_context():
        with acting_as("bench"):
            center = create_org(None, kind="center", parent=None, name="临湘市农村产权交易中心", area_name="临湘市",
                                code="LX")
            points = []
            for i, (town, _py, villages) in enumerate(TOWNS, start=1):
                st = create_org(None, kind="station", parent=center, name=f"{town}农村产权交易站", area_name=town,
                                code=f"LX-{i:02d}")
                for j, v in enumerate(villages, start=1):
                    points.append(create_org(None, kind="point", parent=st, name=f"{town}{v}农村产权交易点",
                                             area_name=v, code=f"LX-{i:02d}-{j:02d}"))
            buyer = register_public(NewAccount(username="bench_buyer", password="Bench2026pass", kind="person",
                                               name="演示受让人", mobile="13900000009",
                                               id_number=make_resident_id("43068219900101009"),
                                               foreign_kind="domestic"))
        db.session.commit()
        cats = db.session.execute(select(Category.id, func.min(TransferMethod.id)).join(
            TransferMethod, TransferMethod.category_id == Category.id).group_by(Category.id).order_by(Category.id)).all()
        pts = [(k, p.id, p.parent_id, p.path) for k, p in enumerate(points)]
        buyer_id = buyer.id
        dialect = db.engine.dialect.name

    from sqlalchemy import BigInteger, Numeric, String
    from sqlalchemy import DateTime
    npts, ncat = len(pts), len(cats)

    def ts(days_expr):
        """START + days (a float SQL expression) as a naive UTC timestamp, both dialects."""
        if dialect == "postgresql":
            return literal_column("TIMESTAMP '2024-01-01 00:00:00'") + days_expr * literal_column("INTERVAL '1 day'")
        return func.datetime(literal("2024-01-01 00:00:00"), func.printf("+%f days", days_expr))

    with app.app_context():
        engine = db.engine
    t0 = time.perf_counter()
    with engine.begin() as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT setseed({seed})")
            series = func.generate_series(1, n_listing).table_valued("g").render_derived(name="s")
        else:
            conn.exec_driver_sql("CREATE TEMP TABLE bench_series (g INTEGER PRIMARY KEY)")
            conn.exec_driver_sql(f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n_listing}) "
                                 "INSERT INTO bench_series SELECT x FROM c")
            series = table("bench_series", column("g")).alias("s")
        g = series.c.g
        # the villages and categories as small temporary tables to join the series with
        conn.exec_driver_sql("CREATE TEMP TABLE bench_pv (k INTEGER, point_id INTEGER, station_id INTEGER, "
                             "path VARCHAR(200))")
        conn.exec_driver_sql("CREATE TEMP TABLE bench_cv (ck INTEGER, category_id INTEGER, method_id INTEGER)")
        pv = table("bench_pv", column("k"), column("point_id"), column("station_id"), column("path"))
        cv = table("bench_cv", column("ck"), column("category_id"), column("method_id"))
        conn.execute(pv.insert(), [dict(k=k, point_id=p, station_id=s_, path=path) for k, p, s_, path in pts])
        conn.execute(cv.insert(), [dict(ck=k, category_id=c, method_id=m) for k, (c, m) in enumerate(cats)])
        # a pseudo-random but reproducible spread: (g * prime) mod m
        def spread(prime, m):
            return cast((cast(g, BigInteger) * prime) % m, Integer)
        day = cast(spread(7919, SPAN_DAYS * 1000), Numeric) / 1000  # submission day offset
        kind = case((g <= n_deal, "deal"), (g <= n_deal + n_failed, "failed"), else_="open")
        state = case((g <= n_deal, case((spread(13, 20) == 0, "settlement"), (spread(13, 20) == 1, "certification"),
                                        else_="completed")),
                     (g <= n_deal + n_failed, "failed"), else_=case((spread(3, 2) == 0, "station_review"),
                                                                    else_="center_review"))
        review_days = 1 + cast(spread(31, 9000), Numeric) / 1000  # 1–10 days
        published = case((g <= n_deal + n_failed, ts(day + review_days)), else_=None)
        announce_end = case((g <= n_deal + n_failed, ts(day + review_days + 7 + spread(5, 8))), else_=None)
        unit = case((spread(11, 10) == 0, "平方米"), (spread(11, 10) == 1, "台"), else_="亩")
        qty = cast(5 + spread(101, 2995), Numeric) / 10 * case((unit == "平方米", 200), else_=1)
        floor = cast(3000 + spread(7727, 497000), Numeric)
        method = case((spread(17, 4) == 0, "agreement"), (spread(17, 4) == 1, "sealed_bid"), else_="online_bidding")
        _insert_select(conn, Listing, {
            "id": g, "project_no": literal("LXNCJY-B-") + cast(g, String), "state": state, "origin": literal("point"),
            "title": literal("基准测试项目 ") + cast(g, String), "category_id": cv.c.category_id,
            "method_id": cv.c.method_id, "station_id": pv.c.station_id, "point_id": pv.c.point_id,
            "org_path": pv.c.path, "quantity": qty, "unit": unit,
            "floor_price": case((spread(19, 10) == 0, None), else_=floor), "trading_method": method,
            "submitted_at": ts(day), "published_at": published, "announce_start_at": published,
            "announce_end_at": announce_end,
            "state_since": case((g <= n_deal, ts(day + review_days + 25)),
                                (g <= n_deal + n_failed, ts(day + review_days + 16)), else_=ts(day)),
            "created_at": ts(day), "updated_at": ts(day)},
            series.join(pv, pv.c.k == spread(1, npts)).join(cv, cv.c.ck == spread(3, ncat)))
        if dialect == "postgresql":
            conn.exec_driver_sql("SELECT setval('listing_id_seq', (SELECT max(id) FROM listing))")
        print(f"  listings: {n_listing:,} ({time.perf_counter() - t0:.1f}s)", flush=True)

        # review history: submit → (a tenth: returned by the station and resubmitted) → station pass → center
        L = Listing.__table__.alias("l")
        lday = func.coalesce(L.c.submitted_at, L.c.created_at)
        ev = ListingEvent
        pre = L.c.published_at
        for action, at, cond in (
            ("submit", L.c.submitted_at, None),
            ("station_return", L.c.submitted_at, L.c.id % 10 == 0),
            ("submit", L.c.submitted_at, L.c.id % 10 == 0),
            ("station_pass", _plus_hours(dialect, L.c.submitted_at, (L.c.id % 40) + 2),
             L.c.state != "station_review"),
            ("center_approve", pre, pre.is_not(None)),
            ("conclude", _plus_hours(dialect, L.c.announce_end_at, 2), L.c.id <= n_deal),
            ("fail", L.c.state_since, L.c.state == "failed"),
        ):
            if action == "station_return":
                at = _plus_hours(dialect, L.c.submitted_at, -30)
            if action == "submit" and cond is not None:
                at = _plus_hours(dialect, L.c.submitted_at, -48)
            _insert_select(conn, ev, {"listing_id": L.c.id, "action": literal(action), "at": at,
                                      "from_state": literal(None, String), "to_state": literal(None, String),
                                      "actor_name": literal("bench")}, L, cond)
        del lday
        print(f"  review history ({time.perf_counter() - t0:.1f}s)", flush=True)

        D = L
        concluded = _plus_hours(dialect, D.c.announce_end_at, 2)
        price = (D.c.floor_price if True else None)
        price = func.coalesce(D.c.floor_price, 50000) * (1 + cast(D.c.id % 37, Numeric) / 100)
        _insert_select(conn, Registration, {"id": D.c.id, "listing_id": D.c.id, "buyer_id": literal(buyer_id),
                                            "state": literal("paid")}, D, D.c.id <= n_deal)
        _insert_select(conn, Deal, {
            "id": D.c.id, "deal_no": literal("CJ-B-") + cast(D.c.id, String), "listing_id": D.c.id,
            "registration_id": D.c.id, "buyer_id": literal(buyer_id), "method": D.c.trading_method, "price": price,
            "concluded_at": concluded, "state": literal("confirmed"),
            "publicity_end_at": _plus_hours(dialect, concluded, 72),
            "contract_due_at": _plus_hours(dialect, concluded, 24 * 7)}, D, D.c.id <= n_deal)
        late = (D.c.id % 25 == 0)
        effective = _plus_hours(dialect, concluded, case((late, 24 * 9), else_=24 * 3 + D.c.id % 48))
        _insert_select(conn, Contract, {
            "id": D.c.id, "deal_id": D.c.id, "listing_id": D.c.id, "template": literal("land"),
            "contract_no": literal("HT-B-") + cast(D.c.id, String), "state": literal("checked"),
            "due_at": _plus_hours(dialect, concluded, 24 * 7), "effective_at": effective}, D, D.c.id <= n_deal)
        settled_cond = D.c.state.in_(("certification", "completed"))
        settled = _plus_hours(dialect, effective, case((D.c.id % 30 == 0, 24 * 12), else_=24 * 5 + D.c.id % 24))
        _insert_select(conn, Settlement, {
            "id": D.c.id, "deal_id": D.c.id, "listing_id": D.c.id, "price": price,
            "deposit_converted": literal(0), "balance_due": price, "buyer_fee": literal(0), "seller_fee": literal(0),
            "payment_ref": literal("JS") + cast(D.c.id, String), "state": case((settled_cond, "settled"), else_="awaiting"),
            "due_at": _plus_hours(dialect, effective, 24 * 10),
            "settled_at": case((settled_cond, settled), else_=None),
            "certificate_due_at": case((settled_cond, _plus_hours(dialect, settled, 24 * 4)), else_=None)},
            D, D.c.id <= n_deal)
        _insert_select(conn, Certificate, {
            "id": D.c.id, "cert_no": literal("鉴B") + cast(D.c.id, String), "year": literal(2026), "seq": D.c.id,
            "deal_id": D.c.id, "state": literal("valid"),
            "issued_at": _plus_hours(dialect, settled, case((D.c.id % 20 == 0, 24 * 5), else_=20 + D.c.id % 30)),
            "pdf_key": literal("bench"), "pdf_sha256": literal("0" * 64), "pdf_size": literal(1)},
            D, and_(D.c.id <= n_deal, D.c.state == "completed"))
        # losers' refunds for a tenth of the deals (each on its own deposit account)
        _insert_select(conn, LedgerAccount, {
            "id": D.c.id, "code": literal("DEP-B-") + cast(D.c.id, String), "kind": literal("deposit"),
            "name": literal("基准测试保证金"), "listing_id": D.c.id, "party_user_id": literal(buyer_id)},
            D, and_(D.c.id <= n_deal, D.c.id % 10 == 0))
        _insert_select(conn, Refund, {
            "account_id": D.c.id, "listing_id": D.c.id, "amount": literal(1000), "reason": literal("lost"),
            "state": literal("approved"), "due_at": _plus_hours(dialect, concluded, 24 * 7),
            "approved_at": _plus_hours(dialect, concluded, case((D.c.id % 70 == 0, 24 * 9), else_=24 * 2))},
            D, and_(D.c.id <= n_deal, D.c.id % 10 == 0))
        if dialect == "postgresql":
            for t in ("registration", "deal", "contract", "settlement", "certificate", "ledger_account"):
                conn.exec_driver_sql(f"SELECT setval('{t}_id_seq', (SELECT max(id) FROM {t}))")
        print(f"  deals, contracts, settlements, certificates, refunds ({time.perf_counter() - t0:.1f}s)", flush=True)

        feed = False
        try:
            from exchange.opendata.models import OpenDataChange
            _insert_select(conn, OpenDataChange, {"seq": L.c.id, "listing_id": L.c.id, "kind": literal("center_approve"),
                                                  "at": L.c.published_at}, L, L.c.published_at.is_not(None))
            feed = True
            # the feed refuses a cursor beyond the audit trail's last number (those rows stand for audit entries)
            conn.exec_driver_sql("UPDATE audit_head SET last_seq = (SELECT max(seq) FROM open_data_change) "
                                 "WHERE id = 1 AND last_seq < (SELECT max(seq) FROM open_data_change)")
        except ImportError:
            pass
        _ = (text, Integer, DateTime, price)
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
    print(f"  built in {time.perf_counter() - t0:.1f}s", flush=True)
    return {"listings": n_listing, "deals": n_deal, "failed": n_failed, "feed": feed}


def _plus_hours(dialect, col, hours):
    from sqlalchemy import func, literal, literal_column
    if dialect == "postgresql":
        return col + hours * literal_column("INTERVAL '1 hour'")
    return func.datetime(col, func.printf("%+d hours", hours))


def queries(app) -> dict:
    """name → a zero-argument callable running one dashboard query (inside an app context)."""
    from exchange.supervision import stats
    from sqlalchemy import select

    from exchange.extensions import db
    from exchange.orgs.models import OrgUnit
    with app.app_context():
        town = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "LX-05"))
    year = {"from": "2026-01-01", "to": "2026-12-31"}
    allp = {"from": "2024-01-01", "to": "2026-12-31"}

    def f(args):
        return stats.parse_filters(args)
    return {
        "summary": lambda: stats.summary(f(year)),
        "by_month": lambda: stats.by_month(f(year)),
        "by_town": lambda: stats.by_town(f(year)),
        "by_village": lambda: stats.by_village(f({**year, "town": town})),
        "by_category": lambda: stats.by_category(f(year)),
        "by_method": lambda: stats.by_method(f(year)),
        "ranking": lambda: stats.ranking(f(year)),
        "summary_town": lambda: stats.summary(f({**year, "town": town})),
        "summary_3y": lambda: stats.summary(f(allp)),
        "by_month_3y": lambda: stats.by_month(f(allp)),
        "by_town_3y": lambda: stats.by_town(f(allp)),
        "ranking_3y": lambda: stats.ranking(f(allp)),
    }


def rebuild_rollup(app) -> float:
    """The rows were written with INSERT … SELECT (no session, so no change marks): build the statistics rollup
    (:func:`exchange.supervision.rollup.rebuild`, as ``flask stats rebuild`` does) and return its seconds."""
    from exchange.extensions import db
    from exchange.supervision import rollup
    with app.app_context():
        t = time.perf_counter()
        rollup.rebuild()
        seconds = round(time.perf_counter() - t, 1)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE stats_day")
                c.exec_driver_sql("VACUUM ANALYZE stats_month")
        db.session.remove()
    print(f"  statistics rollup rebuilt in {seconds:.1f}s", flush=True)
    return seconds


def time_queries(app, repeat: int) -> dict[str, float]:
    from exchange import clock
    from exchange.extensions import db
    out = {}
    clock.freeze(NOW)
    try:
        for name, fn in queries(app).items():
            times = []
            for i in range(repeat + 1):
                with app.app_context():
                    t = time.perf_counter()
                    fn()
                    dt = (time.perf_counter() - t) * 1000
                    db.session.remove()
                if i:  # the first run warms the caches
                    times.append(dt)
            out[name] = round(statistics.median(times), 1)
            print(f"  {name:<14} median {out[name]:>8.1f} ms  (of {repeat})", flush=True)
    finally:
        clock.reset()
    return out


def time_feed(app, repeat: int) -> float | None:
    try:
        from exchange.opendata.services import encode_cursor
    except ImportError:
        return None
    if "/api/v1/open/changes" not in {r.rule for r in app.url_map.iter_rules()}:
        return None
    from sqlalchemy import func, select

    from exchange.extensions import db
    from exchange.opendata.models import OpenDataChange
    with app.app_context():
        top = db.session.scalar(select(func.max(OpenDataChange.seq))) or 0
    client = app.test_client()
    times = []
    for i in range(min(repeat, 20) + 1):
        cursor = encode_cursor(max(0, top // 2 - 1000 * i))
        t = time.perf_counter()
        resp = client.get("/api/v1/open/changes", query_string={"since": cursor},
                          environ_base={"REMOTE_ADDR": f"10.0.{i // 250}.{i % 250 + 1}"})
        dt = (time.perf_counter() - t) * 1000
        if resp.status_code != 200:
            raise RuntimeError(f"open feed answered {resp.status_code}: {resp.get_data(as_text=True)[:200]}")
        if i:
            times.append(dt)
    ms = round(statistics.median(times), 1)
    print(f"  open feed page median {ms:.1f} ms ({len(resp.get_json()['items'])} items)", flush=True)
    return ms


def make_app(db_url: str, tmp: str):
    os.environ["EXCHANGE_INSTANCE_DIR"] = tmp
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import config
    from exchange import create_app

    class Cfg(config.Config):
        SQLALCHEMY_DATABASE_URI = (db_url.replace("postgresql://", "postgresql+psycopg://", 1)
                                   if db_url.startswith("postgresql://") else db_url)
        INSTANCE_DIR = tmp
        UPLOAD_ROOT = os.path.join(tmp, "uploads")
        SCHEDULER = False
        TRAINING_MODE = False
        TESTING = True
        PASSWORD_HASH_METHOD = "scrypt:1024:8:1"

    return create_app(Cfg)


def run(app, deals: int, repeat: int) -> dict:
    t = time.perf_counter()
    built = build(app, deals)
    build_s = round(time.perf_counter() - t, 1)
    rebuild_s = rebuild_rollup(app)
    times = time_queries(app, repeat)
    result = {"bench": "stats", "deals": deals, "listings": built["listings"], "build_s": build_s,
              "rollup_rebuild_s": rebuild_s,
              "target_ms": TARGET_MS, "queries_ms": times,
              "worst_ms": max(v for k, v in times.items() if not k.endswith("_3y")),
              "worst_3y_ms": max(v for k, v in times.items() if k.endswith("_3y"))}
    feed = time_feed(app, repeat) if built["feed"] else None
    if feed is not None:
        result["open_feed_page_ms"] = feed
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench stats", description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default=os.environ.get("EXCHANGE_TEST_PG", DEFAULT_PG),
                    help="PostgreSQL admin URL (a fresh database is created on that server), or sqlite:///file")
    ap.add_argument("--deals", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = ap.parse_args(argv)
    if not 1 <= args.deals <= 20_000_000 or not 1 <= args.repeat <= 100:
        ap.error("bounds: 1 ≤ deals ≤ 20,000,000, 1 ≤ repeat ≤ 100")
    tmp = tempfile.mkdtemp(prefix="bench-stats-")
    server = args.database.replace("postgres://", "postgresql://", 1)
    name = None
    if server.startswith("postgresql://"):
        import psycopg
        name = f"exchange_bench_stats_{uuid.uuid4().hex[:8]}"
        db_url = f"{server.rsplit('/', 1)[0]}/{name}"
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    elif server.startswith("sqlite:///"):
        db_url = server
    else:
        ap.error("--database must be a postgresql:// or sqlite:/// URL")
    try:
        app = make_app(db_url, tmp)
        from flask_migrate import upgrade
        with app.app_context():
            upgrade()
        print(f"database {name or db_url}: generating {args.deals:,} deals", flush=True)
        result = run(app, args.deals, args.repeat)
        result["database"] = db_url.split(":")[0]
        from exchange.extensions import db
        with app.app_context():
            db.engine.dispose()
    finally:
        if name and not args.keep:
            import psycopg
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif name:
            print(f"kept database {name}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
