"""Test fixtures shared by the whole suite.

The suite runs against one database engine per run, chosen by ``EXCHANGE_TEST_DB``:
``sqlite`` (default; a file per xdist worker) or ``postgresql`` (a fresh database per worker on
``EXCHANGE_TEST_PG`` — default ``postgresql://postgres@127.0.0.1:5432/postgres`` — dropped at the
end).  The schema always comes from the Alembic migrations, never ``create_all``.  Every test
that uses the database starts from empty tables and a real (unfrozen) clock.

The fixtures of a listing's life are in ``tests/lifecycle.py`` (built with ``tests/builders.py``); ``frozen``,
``orgs``, ``users`` and they run through ``tests/snapshots.py``, which restores what an earlier test built the same
way instead of replaying the services.
"""
from __future__ import annotations

import contextvars
import os
import uuid

import pytest
from flask.testing import FlaskClient

from exchange import clock

pytest_plugins = ["tests.snapshots", "tests.lifecycle"]
pytest.register_assert_rewrite("tests.builders", "tests.helpers")

ENGINE = os.environ.get("EXCHANGE_TEST_DB", "sqlite").lower()
PG_ADMIN_URL = os.environ.get("EXCHANGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_report_header(config):
    return f"database engine: {ENGINE}"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if ENGINE == "sqlite":
        path = tmp_path_factory.mktemp("db") / f"test-{_worker()}.db"
        yield f"sqlite:///{path}"
        return
    if ENGINE != "postgresql":
        raise RuntimeError(f"EXCHANGE_TEST_DB must be sqlite or postgresql, not {ENGINE!r}")
    import psycopg
    name = f"exchange_test_{uuid.uuid4().hex[:8]}_{_worker()}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # never a skip: a missing PostgreSQL fails the run
        raise RuntimeError(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}") from exc
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    os.environ["TEST_DATABASE_URL"] = database_url
    import config
    from exchange import create_app

    class _Cfg(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        PDF_CACHE_DIR = str(tmp_path_factory.mktemp("pdf-cache"))  # not the checkout's instance/
        # a cheap hash in tests; production keeps werkzeug's strong scrypt default
        PASSWORD_HASH_METHOD = "scrypt:1024:8:1"

    application = create_app(_Cfg)
    application.test_client_class = IsolatedClient
    from flask_migrate import upgrade
    with application.app_context():
        upgrade()
    return application


def _reseed_catalogue(conn) -> None:
    """Put back the catalogue the migration seeds (tests empty every table)."""
    from exchange.catalog.data import CATEGORIES
    mid = 0
    for i, (code, name, names, collective, days, restricts, farmland) in enumerate(CATEGORIES, start=1):
        conn.exec_driver_sql(
            "INSERT INTO category (id, code, name, seq, collective, announce_days, restricts_buyers, farmland, "
            "active, description) VALUES (%s)" % ", ".join(["?" if conn.dialect.name == "sqlite" else "%s"] * 10),
            (i, code, name, i, collective, days, restricts, farmland, True, ""))
        for j, m in enumerate(names, start=1):
            mid += 1
            conn.exec_driver_sql(
                "INSERT INTO transfer_method (id, category_id, name, seq, active) VALUES (%s)"
                % ", ".join(["?" if conn.dialect.name == "sqlite" else "%s"] * 5), (mid, i, m, j, True))
    if conn.dialect.name == "postgresql":  # as the migration does: sequences past the explicit ids
        conn.exec_driver_sql("SELECT setval('category_id_seq', (SELECT max(id) FROM category))")
        conn.exec_driver_sql("SELECT setval('transfer_method_id_seq', (SELECT max(id) FROM transfer_method))")


class IsolatedClient(FlaskClient):
    """A test client whose requests run like real ones: in their own application context.

    Flask reuses an already pushed app context for a request, which would share ``g`` (CSRF tokens)
    and the database session between the test and the app.  Each request here runs in a fresh
    ``contextvars.Context``; afterwards the test's own session is expired so it reads what the
    request committed.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        from flask import has_app_context
        if has_app_context():
            from exchange.extensions import db
            db.session.expire_all()
        return response


_SEQUENCES: list[str] = []


def _sequences(conn) -> list[str]:
    """The schema's sequences (the ids of every table), read once per worker."""
    if not _SEQUENCES:
        _SEQUENCES.extend(conn.exec_driver_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
            "WHERE schemaname = current_schema()").scalars())
    return _SEQUENCES


def _empty_tables(app) -> None:
    from exchange.extensions import db
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            # DELETE, children first, then the ids from 1 again: on PostgreSQL a TRUNCATE of the ~50 tables costs
            # ~0.25 s a test, these few rows ~0.02 s
            for t in tables:
                conn.execute(t.delete())
            if conn.dialect.name == "postgresql":
                for seq in _sequences(conn):
                    conn.exec_driver_sql(f"ALTER SEQUENCE {seq} RESTART")
            # reference rows the migrations create
            conn.exec_driver_sql("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, '" + "0" * 64 + "')")
            _reseed_catalogue(conn)
            conn.exec_driver_sql("INSERT INTO fee_rule (category_id, basis, rate, payer, active, note, updated_at) "
                                 "VALUES (NULL, 'rate', 0, 'buyer', TRUE, '默认：不收费', CURRENT_TIMESTAMP)")


@pytest.fixture
def appctx(app, request):
    """An application context on empty tables; cleaned afterwards.

    After every test the ledger's invariants are checked (money in = out + held, balanced entries …),
    except in tests marked ``ledger_broken`` that corrupt the books on purpose.
    """
    clock.reset()
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
        if "ledger_broken" not in request.keywords:
            from exchange.extensions import db
            from exchange.ledger.services import check
            db.session.rollback()
            problems = check()
            assert not problems, f"ledger invariants broken after the test: {problems}"
    finally:
        from exchange.extensions import db
        db.session.rollback()
        db.session.remove()
        ctx.pop()
        clock.reset()
        _empty_tables(app)


@pytest.fixture
def db(appctx):
    from exchange.extensions import db as _db
    return _db


@pytest.fixture
def client(appctx):
    return appctx.test_client()


@pytest.fixture
def frozen(appctx, request):
    """The clock frozen at Monday 2026-11-23 09:00 Beijing time; tests move it with clock.advance."""
    from datetime import datetime
    from tests.snapshots import step

    def build():
        clock.freeze(datetime(2026, 11, 23, 1, 0))
        return clock
    return step(request, "frozen", build)


@pytest.fixture
def orgs(db, request):
    from tests.factories import make_org_tree
    from tests.snapshots import step
    return step(request, "orgs", make_org_tree)


@pytest.fixture
def users(orgs, request):
    from tests.factories import make_staff_set
    from tests.snapshots import step
    return step(request, "users", lambda: make_staff_set(orgs))
