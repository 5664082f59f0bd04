"""Public listing search over 100k listings (target p95 ≤ 50 ms).

Builds a fresh database (SQLite file by default, or ``--database postgresql://…``), migrates it,
creates the org tree and N published listings with realistic spreads, then calls the public search
API (``/api/v1/public/listings``) in-process for a set of typical filter combinations and prints
p50/p95 per case, plus the ratio of the endpoint to the bare SQL query it runs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal


def build(app, n: int, seed: int = 7) -> None:
    from sqlalchemy import insert, select

    from exchange.audit.services import acting_as
    from exchange.catalog.models import Category, TransferMethod
    from exchange.demo import TOWNS
    from exchange.extensions import db
    from exchange.listings.models import Listing
    from exchange.orgs.services import create_org

    rnd = random.Random(seed)
    with app.app_context():
        if db.session.scalar(select(Listing.id).limit(1)) is not None:
            return
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
        db.session.commit()
        cats = db.session.scalars(select(Category)).all()
        methods = {c.id: [m.id for m in db.session.scalars(select(TransferMethod)
                                                           .where(TransferMethod.category_id == c.id))]
                   for c in cats}
        states = ["announced"] * 3 + ["trading", "publicity", "contract", "completed", "completed", "failed"]
        words = ["水田", "旱地", "林地", "鱼塘", "仓库", "厂房", "农机", "茶园", "果园", "水库"]
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        rows = []
        for k in range(n):
            cat = rnd.choice(cats)
            pt = rnd.choice(points)
            qty = Decimal(rnd.randint(5, 3000)) / 10
            price = Decimal(rnd.randint(3000, 500000))
            pub = start + timedelta(minutes=rnd.randint(0, 60 * 24 * 1000))
            rows.append(dict(
                project_no=f"LXNCJY-B-{k:07d}", state=rnd.choice(states), origin="point", version=1,
                title=f"{pt.area_name}{rnd.randint(1, 12)}组 {qty} 亩{rnd.choice(words)}经营权流转",
                category_id=cat.id, method_id=rnd.choice(methods[cat.id]), station_id=pt.parent_id, point_id=pt.id,
                org_path=pt.path, location=f"{pt.area_name}{rnd.randint(1, 12)}组", quantity=qty, unit="亩",
                floor_price=price, show_floor_price=True, deposit_amount=(price / 10).quantize(Decimal("1")),
                announce_days=5, trading_method=rnd.choice(["online_bidding", "agreement", "sealed_bid"]),
                published_at=pub, announce_start_at=pub, announce_end_at=pub + timedelta(days=7),
                state_since=pub, created_at=pub, updated_at=pub, transferor_kind="household",
                transferor_name="农户", price_mode="total", buyer_restriction="none"))
            if len(rows) == 5000:
                db.session.execute(insert(Listing), rows)
                rows = []
        if rows:
            db.session.execute(insert(Listing), rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # steady state, as autovacuum leaves a production table: visibility map set, statistics fresh
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE listing")
        else:
            with db.engine.connect() as c:
                c.exec_driver_sql("ANALYZE")
                c.commit()


def cases(app):
    from sqlalchemy import select

    from exchange.catalog.models import Category
    from exchange.extensions import db
    from exchange.orgs.models import OrgUnit
    with app.app_context():
        cat = db.session.scalar(select(Category.id).where(Category.code == "C01"))
        town = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "LX-05"))
    return {
        "newest": {},
        "status": {"status": "announced"},
        "category+town": {"category_id": cat, "town_id": town},
        "price_range": {"price_min": "50000", "price_max": "100000", "sort": "price_asc"},
        "area+method": {"area_min": "50", "area_max": "120", "method": "online_bidding"},
        "keyword": {"q": "鱼塘"},
        "deep_page": {"status": "completed", "page": 200},
    }


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench search")
    ap.add_argument("--listings", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--database", default=None, help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="bench-search-")
    url = args.database or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    os.environ.setdefault("EXCHANGE_INSTANCE_DIR", tmp)
    import config
    from exchange import create_app

    class Cfg(config.Config):
        SQLALCHEMY_DATABASE_URI = (url.replace("postgresql://", "postgresql+psycopg://", 1)
                                   if url.startswith("postgresql://") else url)
        TESTING = True

    app = create_app(Cfg)
    from flask_migrate import upgrade
    with app.app_context():
        upgrade()
    t0 = time.perf_counter()
    build(app, args.listings)
    print(f"built {args.listings} listings in {time.perf_counter() - t0:.1f}s on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")

    from exchange.extensions import db
    from exchange.listings import services as svc
    client = app.test_client()
    results = {}
    for name, params in cases(app).items():
        api_times, sql_times = [], []
        for i in range(args.repeat + 3):
            t = time.perf_counter()
            resp = client.get("/api/v1/public/listings", query_string=params)
            dt = time.perf_counter() - t
            assert resp.status_code == 200, resp.get_json()
            if i >= 3:
                api_times.append(dt * 1000)
            with app.app_context():
                sp = svc.SearchParams(q=params.get("q", ""), category_id=params.get("category_id"),
                                      station_id=params.get("town_id"), method=params.get("method"),
                                      status=params.get("status"),
                                      price_min=Decimal(params["price_min"]) if "price_min" in params else None,
                                      price_max=Decimal(params["price_max"]) if "price_max" in params else None,
                                      area_min=Decimal(params["area_min"]) if "area_min" in params else None,
                                      area_max=Decimal(params["area_max"]) if "area_max" in params else None,
                                      sort=params.get("sort", "newest"), page=params.get("page", 1))
                t = time.perf_counter()
                page = svc.public_search(sp)
                _ = [x.id for x in page.items]
                if i >= 3:
                    sql_times.append((time.perf_counter() - t) * 1000)
                db.session.remove()
        total = resp.get_json()["total"]
        results[name] = {"p50_ms": round(pct(api_times, 50), 2), "p95_ms": round(pct(api_times, 95), 2),
                         "query_p50_ms": round(pct(sql_times, 50), 2),
                         "endpoint_to_query": round(pct(api_times, 50) / max(pct(sql_times, 50), 1e-6), 2),
                         "total": total}
        print(f"{name:<14} p50 {results[name]['p50_ms']:>7.2f} ms  p95 {results[name]['p95_ms']:>7.2f} ms  "
              f"(query alone p50 {results[name]['query_p50_ms']:.2f} ms, ×{results[name]['endpoint_to_query']})  "
              f"{total} hits")
    worst = max(r["p95_ms"] for r in results.values())
    print(json.dumps({"bench": "search", "listings": args.listings, "database": url.split(":")[0],
                      "worst_p95_ms": worst, "target_p95_ms": 50, "cases": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
