"""Online bidding under load (DESIGN §3.6, §5): N concurrent bidders on one live session over HTTP.

``python -m bench bidding [--database postgresql://…] [--bidders 200] [--seconds 20] [--workers 4]``

1. Creates a fresh PostgreSQL database on the given server (``exchange_bench_<random>``), migrates it and
   builds everything through the services: the org tree and staff, one household listing (drafted,
   reviewed, announced), N public buyers registered, applied, qualified and paid (deposit confirmed from a
   bank receipt), one API token each.  The build runs with the clock frozen 20 days ago, so that in real
   time the announcement is over; the sweeper then moves the listing to 组织交易 in real time.
2. Starts the app under gunicorn (``-w WORKERS``, real clock, no scheduler) on a free port of 127.0.0.1
   and schedules one 网络竞价 session whose 自由报价期 ends ``--free-seconds`` into the run, so that the
   rest of the run is in the 限时报价期 (each accepted bid restarts the countdown, capped).
3. N bidders (asyncio + aiohttp, one task each) bid for ``--seconds``: each bids the minimum next price
   the room shows it (``me.next_min``: current + one increment); a refused bid (someone was faster) says
   where the price now stands and the bidder tries again at once; the leader waits for someone to outbid it.
   Latencies of accepted bids, refused bids and state reads are kept separately.
4. Checks the invariants straight from the database (:func:`check_invariants`) and against what the
   clients were told (every 201 is a stored bid with that seq and amount; no stored bid is unaccounted for).
5. Measures the raw single-row update rate of the same database (``UPDATE t SET n = n + 1 WHERE id = 1`` in
   autocommit, for the same time) with the same client concurrency (N tasks over as many connections as
   the server allows), and with as many connections as the app has workers.
6. Prints human-readable lines, then one JSON object as the last line; drops the database.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
SECRET_KEY = "bench-bidding-secret-key"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


# --- invariants ----------------------------------------------------------------------------------

def _steps(diff: Decimal, inc: Decimal) -> int | None:
    q = diff / inc
    return int(q) if q == q.to_integral_value() else None


def check_invariants(s, bids, priority: dict[int, bool] | None = None) -> list[str]:
    """Violations of the online-bidding rules in a session and its accepted bids (empty: none).

    ``s`` has the session's columns (start_price, increment, max_steps, starts_at, free_end_at,
    countdown_seconds, hard_end_at, ends_at, current_price, leader_registration_id, seq); ``bids`` the
    bids' (seq, registration_id, amount, priority_match, at); ``priority`` maps registration id → 优先权.
    The countdown is replayed: the end starts at free_end_at + countdown, and each bid in the 限时报价期
    moves it to at least min(bid time + countdown, hard_end_at); every bid must come before the end as it
    stood, and the stored end must be exactly the replayed one.
    """
    priority = priority or {}
    v: list[str] = []
    seqs = Counter(b.seq for b in bids)
    dups = sorted(k for k, c in seqs.items() if c > 1)
    if dups:
        v.append(f"duplicate seq: {dups[:10]}")
    missing = sorted(set(range(1, len(bids) + 1)) - set(seqs))
    if missing:
        v.append(f"seq not 1..{len(bids)}: missing {missing[:10]}")
    if s.seq != len(bids):
        v.append(f"session.seq {s.seq} ≠ {len(bids)} stored bids")
    cd = timedelta(seconds=s.countdown_seconds)
    ends = s.free_end_at + cd
    inc, prev, prev_priority = s.increment, None, False
    for b in sorted(bids, key=lambda b: b.seq):
        where = f"bid #{b.seq}"
        if b.at < s.starts_at:
            v.append(f"{where} at {b.at.isoformat()} before the start")
        if b.at >= ends:
            v.append(f"{where} at {b.at.isoformat()} accepted after the end {ends.isoformat()}")
        if prev is not None and b.at < prev.at:
            v.append(f"{where}: server time went backwards ({b.at.isoformat()} < {prev.at.isoformat()})")
        if prev is None:
            k = _steps(b.amount - s.start_price, inc) if b.amount >= s.start_price else None
            if b.priority_match or k is None or k > s.max_steps:
                v.append(f"{where}: first bid {b.amount} is not start {s.start_price} + k×{inc}, 0 ≤ k ≤ {s.max_steps}")
        else:
            if b.registration_id == prev.registration_id:
                v.append(f"{where}: registration {b.registration_id} outbid itself (it already led)")
            if b.priority_match:
                if not (b.amount == prev.amount and priority.get(b.registration_id) and not prev_priority):
                    v.append(f"{where}: priority match at {b.amount} not allowed")
            else:
                k = _steps(b.amount - prev.amount, inc) if b.amount > prev.amount else None
                if k is None or not (1 <= k <= s.max_steps):
                    v.append(f"{where}: {b.amount} is not {prev.amount} + k×{inc}, 1 ≤ k ≤ {s.max_steps}")
        if b.at >= s.free_end_at:  # 限时报价期: the countdown restarts, up to the cap
            ends = max(ends, min(b.at + cd, s.hard_end_at))
        prev, prev_priority = b, bool(priority.get(b.registration_id))
    if s.ends_at != ends:
        v.append(f"ends_at {s.ends_at.isoformat()} ≠ {ends.isoformat()} (replayed countdown)")
    if s.ends_at > s.hard_end_at:
        v.append(f"ends_at {s.ends_at.isoformat()} past the cap {s.hard_end_at.isoformat()}")
    if prev is None:
        if s.current_price is not None or s.leader_registration_id is not None:
            v.append("a current price or leader without any bid")
    else:
        if s.current_price != prev.amount:
            v.append(f"current_price {s.current_price} ≠ last bid {prev.amount}")
        if s.leader_registration_id != prev.registration_id:
            v.append(f"leader {s.leader_registration_id} ≠ last bidder {prev.registration_id}")
    return v


def load_session(session_id: int):
    """The session and its bids as plain records, read afresh (inside an app context)."""
    from sqlalchemy import select

    from exchange.extensions import db
    from exchange.registrations.models import Registration
    from exchange.trading.models import Bid, BiddingSession
    db.session.expire_all()
    row = db.session.get(BiddingSession, session_id)
    cols = ("id", "listing_id", "start_price", "increment", "max_steps", "starts_at", "free_end_at",
            "countdown_seconds", "hard_end_at", "ends_at", "current_price", "leader_registration_id", "seq", "state")
    s = SimpleNamespace(**{c: getattr(row, c) for c in cols})
    bids = [SimpleNamespace(id=b.id, seq=b.seq, registration_id=b.registration_id, amount=b.amount,
                            priority_match=b.priority_match, at=b.at, key=b.idempotency_key)
            for b in db.session.scalars(select(Bid).where(Bid.session_id == session_id).order_by(Bid.seq, Bid.id))]
    priority = dict(db.session.execute(select(Registration.id, Registration.priority_right)
                                       .where(Registration.listing_id == row.listing_id)).all())
    return s, bids, priority


# --- building the data through the services ------------------------------------------------------

def _listing_fields(transferor_id: str) -> dict:
    return dict(title="团湖村 32 亩水田经营权出租（压力测试）", location="江南镇团湖村三组", boundaries="东至渠道，西至村道",
                quantity="32", unit="亩", current_use="水稻种植", right_cert_no="430682xxxx",
                right_end_date="2038-12-31", term_start="2027-01-01", term_end="2036-12-31",
                price_mode="per_unit_year", floor_unit_price="500", price_basis="参照周边近三年流转价格",
                transferor_kind="household", transferor_name="农户演示", transferor_id_no=transferor_id,
                transferor_mobile="13800000004", account_name="农户演示", account_bank="临湘农商银行",
                account_no="6210000000000001", trading_method="online_bidding", bid_increment="500")


def build(app, n_bidders: int) -> dict:
    """Org tree, staff, an announced listing with ``n_bidders`` paid buyers, in trading; tokens."""
    from sqlalchemy import select

    from exchange import clock
    from exchange.accounts.services import SignUp as AccountForm
    from exchange.accounts.services import create_token, register_public
    from exchange.audit.services import acting_as
    from exchange.catalog.models import Category
    from exchange.deadlines.sweeper import sweep
    from exchange.extensions import db
    from exchange.idcheck import make_resident_id
    from exchange.listings import rules
    from exchange.listings import services as lsvc
    from exchange.listings.models import Listing
    from exchange.registrations import services as rsvc
    from exchange.payments import deposits
    from tests.factories import PASSWORD, make_org_tree, make_staff_set

    with app.app_context():
        clock.freeze(datetime.now(timezone.utc) - timedelta(days=20))  # the announcement lies in the past
        try:
            users = make_staff_set(make_org_tree())
            clerk = users["point_a1"]
            cat = db.session.scalar(select(Category).where(Category.code == "C01"))
            listing = lsvc.create_draft(clerk, category=cat, **_listing_fields(make_resident_id("43068219650315452")))
            for kind in rules.required_materials(listing):
                lsvc.add_material(clerk, listing, kind, PDF, f"{kind}.pdf")
            lsvc.submit(clerk, listing)
            lsvc.station_decide(users["station_a"], listing, True)
            lsvc.center_decide(users["center_reviewer"], listing, "approve",
                               {k: {"ok": True} for k in lsvc.CENTER_CHECKLIST})
            db.session.commit()
            buyers = []
            with acting_as("bench"):
                for i in range(n_bidders):
                    born = date(1960, 1, 1) + timedelta(days=37 * i)
                    buyers.append(register_public(AccountForm(
                        username=f"bidder{i:04d}", password=PASSWORD, kind="person", name=f"竞买人{i:04d}",
                        mobile=f"139{i:08d}", id_number=make_resident_id(f"430682{born:%Y%m%d}{i % 997 + 1:03d}"),
                        foreign_kind="domestic")))
            db.session.commit()
            for i, buyer in enumerate(buyers):
                reg = rsvc.apply(buyer, listing, accept_declaration=True)
                for kind in rsvc.required_materials(reg):
                    rsvc.add_material(buyer, reg, kind, PDF, f"{kind}.pdf")
                rsvc.qualify(users["center_reviewer"], reg)
                deposits.confirm_deposit(users["finance"], reg, reg.deposit_amount, source_key=f"BENCH-{i:05d}",
                                     receipt=PDF, receipt_filename="回单.pdf")
                if i % 50 == 49:
                    db.session.commit()
            db.session.commit()
        finally:
            clock.reset()
        sweep()  # in real time: the 公告期 is over, the paid buyers take it to 组织交易
        db.session.expire_all()
        listing = db.session.get(Listing, listing.id)
        if listing.state != "trading":
            raise RuntimeError(f"the listing is {listing.state!r} after the sweep, not 'trading'")
        tokens = []
        for buyer in buyers:
            _, secret = create_token(users["admin"], buyer, "压力测试")
            tokens.append(secret)
        db.session.commit()
        return {"listing_id": listing.id, "officer_id": users["trading_officer"].id, "tokens": tokens,
                "buyer_ids": [b.id for b in buyers]}


def schedule(app, built: dict, *, free_seconds: float, countdown: int, max_extension_minutes: int) -> int:
    """A 网络竞价 session live now, whose 自由报价期 ends ``free_seconds`` from now (real time).

    schedule_online wants a start no earlier than "now" and a free period of whole minutes, so it is
    called with the clock frozen just before a start that (for a free period under a minute) already
    lies a little in the past; the session is otherwise exactly what an officer schedules.
    """
    import math

    from exchange import clock
    from exchange.accounts.models import User
    from exchange.extensions import db
    from exchange.listings.models import Listing
    from exchange.trading import services as tsvc
    with app.app_context():
        minutes = max(1, math.ceil(free_seconds / 60))
        starts = datetime.now(timezone.utc) + timedelta(seconds=free_seconds - 60 * minutes)
        clock.freeze(starts - timedelta(seconds=1))
        try:
            s = tsvc.schedule_online(db.session.get(User, built["officer_id"]), db.session.get(Listing, built["listing_id"]),
                                     starts_at=starts, free_minutes=minutes, countdown_seconds=countdown,
                                     max_extension_minutes=max_extension_minutes)
            db.session.commit()
            return s.id
        finally:
            clock.reset()


# --- the server ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db_url: str, workers: int, threads: int, tmp: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = Path(tmp) / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": SECRET_KEY, "SCHEDULER": "false",
           "EXCHANGE_INSTANCE_DIR": tmp, "TRAINING_MODE": "false"}
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "60",
           "--backlog", "2048"]
    if threads > 1:
        cmd += ["--threads", str(threads)]
    # started outside the checkout (--chdir): gunicorn would otherwise read ./gunicorn.conf.py by itself, and the
    # bench measures what its own flags say
    cmd += ["--chdir", str(ROOT), "wsgi:app"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=5) as resp:
                if resp.status == 200:
                    return proc, base, log
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this bench started: the master and its workers
        proc.wait(timeout=15)
    except (ProcessLookupError, PermissionError):
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


# --- the load ------------------------------------------------------------------------------------

@dataclass
class Stats:
    accepted_ms: list[float] = field(default_factory=list)
    refused_ms: list[float] = field(default_factory=list)
    state_ms: list[float] = field(default_factory=list)
    acks: list[tuple[int, str, int, str]] = field(default_factory=list)  # bidder, key, seq, amount
    refusals: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    ended: int = 0


def _refusal_kind(message: str) -> str:
    if "须为当前最高价" in message:
        return "outbid (price moved)"
    if "已是最高报价人" in message:
        return "already leading"
    return message[:60]


async def run_load(base: str, session_id: int, tokens: list[str], seconds: float, leader_pause: float,
                   request_timeout: float, max_jump: int = 1, seed: int = 7) -> tuple[Stats, float]:
    import random

    import aiohttp

    rnd = random.Random(seed)

    stats = Stats()
    state_url = f"{base}/api/v1/sessions/{session_id}/state"
    bid_url = f"{base}/api/v1/sessions/{session_id}/bids"

    async def bidder(i: int, http: aiohttp.ClientSession, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        state = None
        while time.perf_counter() < deadline:
            try:
                if state is None:
                    t = time.perf_counter()
                    async with http.get(state_url, headers=headers) as r:
                        body = await r.json(content_type=None)
                    stats.state_ms.append((time.perf_counter() - t) * 1000)
                    if r.status != 200:
                        stats.errors[f"GET state {r.status} {body.get('error', '')}"] += 1
                        await asyncio.sleep(0.05)
                        continue
                    state = body
                if state["phase"] == "waiting":
                    state = None
                    await asyncio.sleep(0.05)
                    continue
                if state["phase"] not in ("free", "timed"):
                    stats.ended += 1
                    return
                me = state["me"]
                if me["leading"]:  # nothing to do until someone outbids us
                    state = None
                    await asyncio.sleep(leader_pause)
                    continue
                amount = Decimal(me["next_min"])
                if max_jump > 1 and state["current_price"] is not None:
                    amount += Decimal(state["increment"]) * (rnd.randint(1, min(max_jump, state["max_steps"])) - 1)
                key = uuid.uuid4().hex
                t = time.perf_counter()
                async with http.post(bid_url, headers=headers, json={"amount": str(amount), "key": key}) as r:
                    body = await r.json(content_type=None)
                dt = (time.perf_counter() - t) * 1000
                if r.status == 201:
                    stats.accepted_ms.append(dt)
                    stats.acks.append((i, key, body["seq"], body["amount"]))
                    state = body["state"]
                elif r.status == 400:
                    stats.refused_ms.append(dt)
                    stats.refusals[_refusal_kind(body.get("message", ""))] += 1
                    if body.get("next_min"):  # the refusal says where the price stands: try again at once
                        state = dict(state, current_price=body["current_price"],
                                     me=dict(state["me"], next_min=body["next_min"], leading=False))
                    else:
                        state = None  # re-read, then try again
                else:
                    stats.errors[f"POST bid {r.status} {body.get('error', '')}"] += 1
                    state = None
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError) as exc:
                stats.errors[type(exc).__name__] += 1
                state = None
                await asyncio.sleep(0.05)

    timeout = aiohttp.ClientTimeout(total=request_timeout)
    connector = aiohttp.TCPConnector(limit=len(tokens), limit_per_host=len(tokens))
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        t0 = time.perf_counter()
        deadline = t0 + seconds
        await asyncio.gather(*(bidder(i, http, deadline) for i in range(len(tokens))))
        wall = time.perf_counter() - t0
    return stats, wall


# --- the raw rate --------------------------------------------------------------------------------

async def raw_rate(conninfo: str, tasks: int, connections: int, seconds: float) -> dict:
    """``UPDATE bench_raw SET n = n + 1 WHERE id = 1`` in autocommit: ``tasks`` concurrent clients over
    ``connections`` connections, for ``seconds``."""
    import psycopg

    conns = [await psycopg.AsyncConnection.connect(conninfo, autocommit=True) for _ in range(connections)]
    try:
        await conns[0].execute("CREATE TABLE IF NOT EXISTS bench_raw (id integer PRIMARY KEY, n bigint NOT NULL)")
        await conns[0].execute("INSERT INTO bench_raw VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0")
        pool: asyncio.Queue = asyncio.Queue()
        for c in conns:
            pool.put_nowait(c)
        done, lat = 0, []

        async def client(deadline: float) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                c = await pool.get()
                t = time.perf_counter()
                try:
                    await c.execute("UPDATE bench_raw SET n = n + 1 WHERE id = 1")
                finally:
                    pool.put_nowait(c)
                lat.append((time.perf_counter() - t) * 1000)
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(t0 + seconds) for _ in range(tasks)))
        wall = time.perf_counter() - t0
        n = (await (await conns[0].execute("SELECT n FROM bench_raw WHERE id = 1")).fetchone())[0]
        if n != done:
            raise RuntimeError(f"raw counter {n} ≠ {done} updates done")
        return {"updates": done, "per_s": done / wall, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                "tasks": tasks, "connections": connections}
    finally:
        for c in conns:
            await c.close()


def spare_connections(conninfo: str) -> int:
    import psycopg
    with psycopg.connect(conninfo, autocommit=True) as c:
        return c.execute("SELECT current_setting('max_connections')::int"
                         " - current_setting('superuser_reserved_connections')::int"
                         " - (SELECT count(*) FROM pg_stat_activity)").fetchone()[0]


# --- putting it together -------------------------------------------------------------------------

def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _r(x, nd=2):
    return None if x is None else round(x, nd)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench bidding", description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default=os.environ.get("EXCHANGE_TEST_PG", DEFAULT_PG),
                    help="a PostgreSQL server URL; a fresh database is created on it and dropped after "
                         f"(default: $EXCHANGE_TEST_PG or {DEFAULT_PG})")
    ap.add_argument("--bidders", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0, help="how long the bidders bid")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    ap.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (>1: gthread)")
    ap.add_argument("--free-seconds", type=float, default=None,
                    help="the 自由报价期 ends this far into the run (default: a quarter of --seconds)")
    ap.add_argument("--countdown", type=int, default=60, help="限时报价期 countdown, seconds (10–3600)")
    ap.add_argument("--raw-seconds", type=float, default=None, help="raw update run length (default: --seconds)")
    ap.add_argument("--max-jump", type=int, default=1,
                    help="bid current + k × increment with k drawn from 1..MAX_JUMP (default 1: the minimum raise)")
    ap.add_argument("--leader-pause", type=float, default=0.05,
                    help="how long the leading bidder waits before looking again (s)")
    ap.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = ap.parse_args(argv)
    if not (1 <= args.bidders <= 5000 and 1 <= args.seconds <= 3600 and 1 <= args.workers <= 64):
        ap.error("bounds: 1 ≤ bidders ≤ 5000, 1 ≤ seconds ≤ 3600, 1 ≤ workers ≤ 64")
    if args.bidders < 2:
        ap.error("网络竞价 needs at least two bidders")
    server = args.database.replace("postgres://", "postgresql://", 1)
    if not server.startswith("postgresql://"):
        ap.error("--database must be a postgresql:// URL (the bar is PostgreSQL; gunicorn runs several processes)")
    free_seconds = args.seconds / 4 if args.free_seconds is None else args.free_seconds
    raw_seconds = args.raw_seconds or args.seconds

    import psycopg
    name = f"exchange_bench_{uuid.uuid4().hex[:8]}"
    base_url = server.rsplit("/", 1)[0]
    db_url = f"{base_url}/{name}"
    tmp = tempfile.mkdtemp(prefix="bench-bidding-")
    os.environ["EXCHANGE_INSTANCE_DIR"] = tmp
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    with psycopg.connect(server, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    proc = app = None
    try:
        import config
        from exchange import create_app

        class Cfg(config.Config):
            SQLALCHEMY_DATABASE_URI = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
            SECRET_KEY = SECRET_KEY
            INSTANCE_DIR = tmp
            UPLOAD_ROOT = os.path.join(tmp, "uploads")
            SCHEDULER = False
            TRAINING_MODE = False
            TESTING = True
            PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # bidders use API tokens; cheap hashes build faster

        app = create_app(Cfg)
        from flask_migrate import upgrade
        with app.app_context():
            upgrade()
        t = time.perf_counter()
        built = build(app, args.bidders)
        print(f"database {name}: {args.bidders} buyers registered, applied, qualified and paid through the "
              f"services in {time.perf_counter() - t:.1f}s; listing in 组织交易")

        proc, base, log = start_server(db_url, args.workers, args.threads, tmp)
        print(f"gunicorn -w {args.workers}{f' --threads {args.threads}' if args.threads > 1 else ''} on {base}")
        sid = schedule(app, built, free_seconds=free_seconds, countdown=args.countdown,
                       max_extension_minutes=min(24 * 60, int(args.seconds // 60) + 10))
        stats, wall = asyncio.run(run_load(base, sid, built["tokens"], args.seconds, args.leader_pause,
                                           request_timeout=max(30.0, args.seconds), max_jump=args.max_jump))
        stop_server(proc)
        proc = None

        # the invariants, straight from the database, and against what the clients were told
        with app.app_context():
            s, bids, priority = load_session(sid)
        violations = check_invariants(s, bids, priority)
        by_seq = {b.seq: b for b in bids}
        reg_of = {}
        with app.app_context():
            from sqlalchemy import select

            from exchange.extensions import db
            from exchange.registrations.models import Registration
            reg_of = dict(db.session.execute(select(Registration.buyer_id, Registration.id)
                                             .where(Registration.listing_id == s.listing_id)).all())
        acked = Counter(seq for _, _, seq, _ in stats.acks)
        for i, key, seq, amount in stats.acks:
            b = by_seq.get(seq)
            if b is None:
                violations.append(f"acknowledged bid seq {seq} is not stored (lost)")
            elif (b.key, b.amount, b.registration_id) != (key, Decimal(amount), reg_of[built["buyer_ids"][i]]):
                violations.append(f"acknowledged bid seq {seq} differs from the stored one")
        violations += [f"seq {q} acknowledged {c} times" for q, c in acked.items() if c > 1]
        unacked = len(bids) - len(set(acked) & set(by_seq))
        if unacked > sum(stats.errors.values()):
            violations.append(f"{unacked} stored bids never acknowledged, with only {sum(stats.errors.values())} "
                              "failed requests")
        timed = sum(1 for b in bids if b.at >= s.free_end_at)

        # the raw single-row update rate of the same database
        spare = spare_connections(db_url)
        raw_conns = max(1, min(args.bidders, spare - 5))
        raw = asyncio.run(raw_rate(db_url, args.bidders, raw_conns, raw_seconds))
        raw_w = asyncio.run(raw_rate(db_url, args.workers, args.workers, raw_seconds))

        accepted = len(bids)
        per_s = accepted / wall
        decisions = len(stats.accepted_ms) + len(stats.refused_ms)  # each one locked the session row
        decisions_per_s = decisions / wall
        requests_per_s = (decisions + len(stats.state_ms) + sum(stats.errors.values())) / wall
        acc_p50, acc_p99 = pct(stats.accepted_ms, 50), pct(stats.accepted_ms, 99)
        print(f"{args.bidders} bidders for {wall:.1f}s: {accepted} bids accepted ({per_s:.1f}/s; {timed} in the "
              f"限时报价期, end now {s.ends_at:%H:%M:%S}Z), {len(stats.refused_ms)} refused "
              f"({', '.join(f'{k}: {c}' for k, c in stats.refusals.most_common())}), "
              f"{len(stats.state_ms)} state reads, {sum(stats.errors.values())} errors {dict(stats.errors) or ''}")
        print(f"latency accepted p50 {_r(acc_p50)} ms p99 {_r(acc_p99)} ms; refused p50 {_r(pct(stats.refused_ms, 50))} ms "
              f"p99 {_r(pct(stats.refused_ms, 99))} ms; state p50 {_r(pct(stats.state_ms, 50))} ms "
              f"p99 {_r(pct(stats.state_ms, 99))} ms")
        print(f"final price {s.current_price} after {s.seq} bids; leader registration {s.leader_registration_id}")
        print(f"server: {requests_per_s:.1f} requests/s, of which {decisions_per_s:.1f} bid decisions/s "
              f"(accepted or refused, each under the session row lock)")
        print(f"raw UPDATE of one row: {raw['per_s']:.0f}/s with {raw['tasks']} clients over {raw['connections']} "
              f"connections (p50 {raw['p50_ms']:.2f} ms); {raw_w['per_s']:.0f}/s over {args.workers} connections "
              f"(as many as the app has workers)")
        print(f"accepted bids / raw updates: {per_s / raw['per_s']:.4f} (same clients), "
              f"{per_s / raw_w['per_s']:.4f} (same connections); bid decisions / raw updates: "
              f"{decisions_per_s / raw['per_s']:.4f}")
        print(f"invariant violations: {len(violations)}")
        for line in violations[:50]:
            print("  VIOLATION", line)
        print(json.dumps({
            "bench": "bidding", "bidders": args.bidders, "seconds": args.seconds, "wall_s": round(wall, 2), "workers": args.workers,
            "threads": args.threads, "accepted": accepted, "accepted_per_s": _r(per_s),
            "accepted_in_timed_period": timed, "refused": len(stats.refused_ms), "state_reads": len(stats.state_ms),
            "errors": sum(stats.errors.values()), "requests_per_s": _r(requests_per_s, 1),
            "bid_decisions_per_s": _r(decisions_per_s, 1), "max_jump": args.max_jump, "p50_ms": _r(acc_p50), "p99_ms": _r(acc_p99),
            "refused_p50_ms": _r(pct(stats.refused_ms, 50)), "refused_p99_ms": _r(pct(stats.refused_ms, 99)),
            "state_p50_ms": _r(pct(stats.state_ms, 50)), "state_p99_ms": _r(pct(stats.state_ms, 99)),
            "raw_updates_per_s": _r(raw["per_s"], 1), "raw_connections": raw["connections"],
            "ratio_to_raw": _r(per_s / raw["per_s"], 4),
            "decisions_ratio_to_raw": _r(decisions_per_s / raw["per_s"], 4),
            "raw_updates_per_s_same_connections": _r(raw_w["per_s"], 1),
            "ratio_to_raw_same_connections": _r(per_s / raw_w["per_s"], 4),
            "violations": len(violations), "database": "postgresql",
        }, ensure_ascii=False))
    finally:
        stop_server(proc)
        if app is not None:
            from exchange.extensions import db
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        if args.keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
