"""Build the data a test's fixtures set up once per test process, and restore it for the tests after.

Replaying a listing's life through the services is the costly part of the suite's setup (a contract-stage test
replays announcement, registrations, deposits, bidding, publicity …).  The fixtures that build that data —
``frozen``, ``orgs`` and ``users`` (tests/conftest.py), ``buyers`` and the stages of tests/lifecycle.py — run
through :func:`step`.  For a test whose fixtures include a stage:

* the first time a combination of fixtures is set up in this process it is built for real, and at its end the
  database (every table's rows, in foreign-key order, and PostgreSQL's sequences), the stored files (the test's
  ``uploads`` folder), the frozen clock and the fixtures' values (ORM objects by primary key) are kept in memory;
* a later test with the same combination gets all of that restored at its first step — one restore instead of
  the replay — and each fixture returns the value it had (the same objects, reloaded from the restored rows).

"The same combination" is the key: every fixture the test sets up, in the order pytest runs them (with where each
is defined), the app's configuration and the primary keys of the rows already in the database.  Nothing is kept or
restored — the fixtures run as written — when the outcome could depend on something else:

* a fixture this module does not know (a module's own fixture, an autouse fixture, a browser) runs before the last
  step: it may write rows, patch a service or set up in-memory outboxes — such fixtures may only run after;
* the stored files are not in the test's own folder (the ``uploads`` fixture, set up before the first step);
* at the end of the steps the clock is not frozen or the session holds changes not committed, or the fixtures did
  not run in the predicted order.

A fixture asked for from the test body (``request.getfixturevalue``) always runs as written.  Real-clock timestamps
written before the clock was frozen (the staff accounts …) are those of the build.  ``EXCHANGE_TEST_SNAPSHOTS=0``
turns it all off.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import inspect as sa_inspect, select, text

from exchange import clock

ENABLED = os.environ.get("EXCHANGE_TEST_SNAPSHOTS", "1") != "0"

# Fixtures that change neither the database, nor the clock, nor the code a step runs (the configuration they set is
# part of the key).
PURE = {"app", "database_url", "appctx", "db", "client", "request", "tmp_path", "tmp_path_factory", "monkeypatch",
        "uploads", "signing_key", "center_key", "caplog", "capsys", "capfd", "recwarn", "pytestconfig",
        "record_property", "worker_id", "testrun_uid"}
# The steps: fixtures that write rows or move the clock through the services, repeatably.
KNOWN = {"frozen", "orgs", "users", "buyers"}
STAGES = {"announced", "qualified", "money", "trading", "online_deal", "agreement_deal", "contract", "overdue_contract",
          "overdue_world", "effective", "certifiable", "data"}
OURS = ("tests.conftest", "tests.lifecycle")

_PLAN = pytest.StashKey["Plan"]()
_RAN = pytest.StashKey[list]()  # the function-scoped fixtures whose setup ran in this test, in order
_CALLING = pytest.StashKey[bool]()  # the test body is running
_CACHE: dict = {}  # key → Snapshot, for this process (one per xdist worker)
STATS = {"recorded": 0, "restored": 0, "not_kept": 0}


@dataclass
class Snapshot:
    rows: dict  # table name → its rows (dicts), by primary key
    sequences: list  # (name, last value) on PostgreSQL
    files: Path | None  # a copy of the uploads folder
    clock_at: object  # the frozen instant
    results: list  # (fixture name, encoded value)


@dataclass
class Plan:
    mode: str  # "off" | "record" | "replay"
    key: tuple = ()
    steps: list = field(default_factory=list)  # the steps in the order they run
    values: dict = field(default_factory=dict)  # replay: name → value
    recorded: dict = field(default_factory=dict)  # record: name → value
    root: Path | None = None


# --- hooks ------------------------------------------------------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.scope == "function":
        request.node.stash.setdefault(_RAN, []).append(fixturedef.argname)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    item.stash[_CALLING] = True
    return (yield)


@pytest.hookimpl
def pytest_sessionfinish(session):
    out = os.environ.get("EXCHANGE_TEST_SNAPSHOT_STATS")
    if out:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(f"{worker} " + " ".join(f"{k}={v}" for k, v in STATS.items() if k != "modes")
                     + f" snapshots={len(_CACHE)}\n")
            for mode, ids in STATS.get("modes", {}).items():
                fh.writelines(f"  {mode} {i}\n" for i in ids)


# --- a step -----------------------------------------------------------------------------------------------------------

def step(request, name: str, build):
    """The value of fixture ``name``: what ``build()`` returns — built for real, or restored."""
    assert name in KNOWN | STAGES, name
    node = request.node
    if node.stash.get(_CALLING, False):  # asked for from the test body
        return build()
    plan = node.stash.get(_PLAN, None)
    if plan is None:
        plan = node.stash[_PLAN] = _plan(request, name)
        if os.environ.get("EXCHANGE_TEST_SNAPSHOT_STATS"):
            STATS.setdefault("modes", {}).setdefault(plan.mode, []).append(node.nodeid)
    if plan.mode == "replay" and name in plan.values:
        if name == plan.steps[-1]:
            ran = [r for r in node.stash.get(_RAN, []) if r in KNOWN | STAGES]
            assert ran == plan.steps, f"the steps ran as {ran}, not as restored ({plan.steps})"
        return plan.values[name]
    if plan.mode != "record":
        return build()
    value = build()
    plan.recorded[name] = value
    if name == plan.steps[-1]:
        _record(request, plan)
    return value


def _kind(fixturedef) -> str:
    """The fixture's name if this module knows it, else ``?name`` (``param:name`` for a test's parameter)."""
    name, func = fixturedef.argname, fixturedef.func
    module = getattr(func, "__module__", "") or ""
    if getattr(func, "__name__", "") == "get_direct_param_fixture_func":
        return "param:" + name
    ours = module in OURS
    if name in PURE and (ours or module.startswith(("_pytest", "xdist"))):
        return name
    if name in KNOWN and ours or name in STAGES and module == "tests.lifecycle":
        return name
    return "?" + name


def _order(item) -> list | None:
    """The function's fixtures in the order pytest sets them up: each after the ones it asks for, in the order of
    the item's closure (as ``FixtureRequest._fillfixtures`` and ``FixtureDef.execute`` do)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", None)
    if defs is None:
        return None
    done, order = set(), []

    def visit(n, depth=0):
        if n in done or n == "request":
            return
        if n not in defs or depth > 50:
            raise LookupError(n)
        for a in defs[n][-1].argnames:
            if a != n:
                visit(a, depth + 1)
        done.add(n)
        order.append((n, defs[n][-1]))

    try:
        for n in item.fixturenames:
            visit(n)
    except LookupError:
        return None
    return order


def _plan(request, first: str) -> Plan:
    if not ENABLED:
        return Plan("off")
    item = request.node
    order = _order(item)
    if order is None:
        return Plan("off")
    kinds = [_kind(fd) for _n, fd in order]
    steps = [k for k in kinds if k in KNOWN | STAGES]
    if not steps or steps[0] != first:  # (a step asked for with request.getfixturevalue is not in the closure)
        return Plan("off")
    last = max(i for i, k in enumerate(kinds) if k in KNOWN | STAGES)
    if (not any(k in STAGES for k in kinds)
            or any(k.startswith("?") for k in kinds[:last])
            or "uploads" not in kinds[:kinds.index(first)] or "uploads" not in item.stash.get(_RAN, [])):
        return Plan("off")
    from exchange.extensions import db
    app = request.getfixturevalue("app")
    db.session.flush()
    where = tuple((k, fd.func.__module__, fd.func.__qualname__) for k, (_n, fd) in zip(kinds, order)
                  if not k.startswith("param:"))
    key = (where, _config_key(app), clock.now() if clock.is_frozen() else None, _primary_keys(db))
    root = Path(app.config["UPLOAD_ROOT"])
    snap = _CACHE.get(key)
    if snap is None:
        return Plan("record", key=key, steps=steps, root=root)
    _restore(db, snap, root)
    STATS["restored"] += 1
    memo: dict = {}
    values = {name: _decode(db, enc, memo) for name, enc in snap.results}
    return Plan("replay", key=key, steps=steps, values=values, root=root)


def _record(request, plan: Plan) -> None:
    """At the end of the last step: keep the database, the files, the clock and the steps' values."""
    from exchange.extensions import db
    ran = [r for r in request.node.stash.get(_RAN, []) if r in KNOWN | STAGES]
    if ran != plan.steps or not clock.is_frozen() or _pending(db):
        STATS["not_kept"] += 1
        return
    memo: dict = {}
    results = [(name, _encode(plan.recorded[name], memo)) for name in plan.steps]
    if any(enc is _UNKNOWN for _n, enc in results):
        STATS["not_kept"] += 1
        return
    files = None
    if plan.root.exists():
        files = Path(request.getfixturevalue("tmp_path_factory").mktemp("steps")) / "uploads"
        shutil.copytree(plan.root, files, copy_function=shutil.copyfile)
    was = db.session().in_transaction()
    _CACHE[plan.key] = Snapshot(rows=_rows(db), sequences=_sequences(db), files=files, clock_at=clock.now(),
                                results=results)
    if not was:
        db.session.commit()  # nothing to commit: ends the reading transaction the capture began
    STATS["recorded"] += 1


def _pending(db) -> bool:
    """Changes in the session not flushed, or flushed and not committed."""
    s = db.session
    if s.new or s.dirty or s.deleted:
        return True
    try:
        from exchange.supervision.rollup import _WROTE  # set on every flush, cleared at the transaction's end
    except ImportError:  # pragma: no cover — without the marker, trust nothing
        return True
    return bool(s.info.get(_WROTE))


def _config_key(app) -> str:
    items = sorted((k, repr(v)) for k, v in app.config.items() if k != "UPLOAD_ROOT")
    return hashlib.sha256(repr(items).encode()).hexdigest()


def _tables(db):
    return list(db.metadata.sorted_tables)


def _primary_keys(db) -> str:
    """A digest of every table's primary keys."""
    conn = db.session.connection()
    h = hashlib.sha256()
    for t in _tables(db):
        pk = list(t.primary_key.columns)
        h.update(t.name.encode())
        for row in conn.execute(select(*pk).order_by(*pk)):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def _rows(db) -> dict:
    conn = db.session.connection()
    return {t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in _tables(db)}


def _sequences(db) -> list:
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return []
    return [tuple(r) for r in conn.execute(text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value FROM pg_sequences "
        "WHERE schemaname = current_schema()"))]


def _restore(db, snap: Snapshot, root: Path) -> None:
    """Every table emptied and refilled with the snapshot's rows, the sequences set, the files and the clock back."""
    db.session.flush()
    conn = db.session.connection()
    tables = _tables(db)
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    for t in reversed(tables):  # children first (a TRUNCATE of every table is ten times slower on PostgreSQL)
        conn.execute(t.delete())
    for t in tables:
        rows = snap.rows[t.name]
        if rows:
            conn.execute(t.insert(), rows)
    for seq, last in snap.sequences:
        if last is None:
            conn.execute(text("SELECT setval(:s, 1, false)"), {"s": seq})
        else:
            conn.execute(text("SELECT setval(:s, :v, true)"), {"s": seq, "v": last})
    db.session.commit()
    db.session.expire_all()
    if root.exists():
        shutil.rmtree(root)
    if snap.files is not None:
        shutil.copytree(snap.files, root, copy_function=shutil.copyfile)
    clock.freeze(snap.clock_at)


# --- fixture values: ORM objects by primary key, shared containers shared ---------------------------------------------

_UNKNOWN = object()


def _encode(value, memo: dict):
    if value is None or isinstance(value, (str, int, float, bool)):
        return ("v", value)
    if isinstance(value, types.ModuleType):
        return ("module", value.__name__)
    if id(value) in memo:
        return ("ref", memo[id(value)][0])
    if isinstance(value, (list, tuple, dict, SimpleNamespace)):
        memo[id(value)] = (len(memo), value)  # the value kept alive: its id is not reused meanwhile
        ref = memo[id(value)][0]
        if isinstance(value, (list, tuple)):
            items = [_encode(v, memo) for v in value]
            return _UNKNOWN if _UNKNOWN in items else (type(value).__name__, ref, items)
        pairs = value.items() if isinstance(value, dict) else vars(value).items()
        items = {k: _encode(v, memo) for k, v in pairs}
        if _UNKNOWN in items.values():
            return _UNKNOWN
        return ("dict" if isinstance(value, dict) else "ns", ref, items)
    try:
        state = sa_inspect(value)
    except Exception:  # noqa: BLE001 — not an ORM object
        return _UNKNOWN
    if not getattr(state, "persistent", False):
        return _UNKNOWN
    return ("orm", type(value), state.identity)


def _decode(db, enc, memo: dict):
    kind = enc[0]
    if kind == "v":
        return enc[1]
    if kind == "module":
        return sys.modules[enc[1]]
    if kind == "ref":
        return memo[enc[1]]
    if kind == "orm":
        obj = db.session.get(enc[1], enc[2])
        assert obj is not None, f"{enc[1].__name__} {enc[2]} is not in the restored snapshot"
        return obj
    ref, items = enc[1], enc[2]
    if kind in ("list", "tuple"):
        values = [_decode(db, v, memo) for v in items]
        memo[ref] = values if kind == "list" else tuple(values)
    elif kind == "dict":
        memo[ref] = {k: _decode(db, v, memo) for k, v in items.items()}
    else:
        memo[ref] = SimpleNamespace(**{k: _decode(db, v, memo) for k, v in items.items()})
    return memo[ref]
