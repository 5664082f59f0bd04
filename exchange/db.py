"""Declarative base, column types and naming conventions shared by every model.

* ``UTCDateTime`` stores naive UTC and always returns aware UTC, on SQLite and PostgreSQL alike.
* ``Money`` is ``Numeric(16, 2)`` returning ``Decimal`` (never float).
* Constraint names follow one convention so Alembic migrations are stable on both databases.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import DateTime, MetaData, Numeric
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC, returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use exchange.clock")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


MONEY_LIMIT = Decimal(10) ** 14  # Numeric(16, 2): 14 digits before the point


class Money(TypeDecorator):
    """Amounts in 元: Numeric(16, 2), Decimal in and out."""

    impl = Numeric(16, 2)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        amount = Decimal(value)
        # Outside input is refused long before (exchange.inputs / exchange.money); this is the last line, so a
        # slip is a clear error rather than decimal.InvalidOperation from quantize or an overflow in the database.
        if not amount.is_finite() or amount.copy_abs() >= MONEY_LIMIT:
            raise ValueError(f"amount {value!r} does not fit a Numeric(16, 2) money column")
        return amount.quantize(Decimal("0.01"))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal("0.01"))


def savepoint(session):
    """``session.begin_nested()`` that is safe on SQLite too.

    pysqlite starts a transaction only before a data-changing statement; a SAVEPOINT issued before
    any such statement would itself become the outermost transaction, and releasing it would COMMIT
    early — money booked even if the caller later rolls back.  A no-op UPDATE first makes pysqlite
    open the real transaction (and take SQLite's write lock, serialising writers as PostgreSQL's row
    locks do).
    """
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy import text
        session.execute(text("UPDATE audit_head SET id = id WHERE 1 = 0"))
    return session.begin_nested()


def take_write_lock(session) -> None:
    """On SQLite open the write transaction (and take the database's write lock) before reading, so what is
    read next is what the last writer committed and cannot change before this transaction commits."""
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy import text
        session.execute(text("UPDATE audit_head SET id = id WHERE 1 = 0"))


def lock_row(session, model, item_id):
    """The row, locked for this transaction and read afresh (None when it is gone): the row lock on
    PostgreSQL, the database write lock on SQLite.  A copy this session read earlier (and has not changed) is
    expired first, so a version another transaction committed meanwhile is read, not refused as a conflict."""
    held = session.identity_map.get(session.identity_key(model, item_id))
    if held is not None and held not in session.dirty:
        session.expire(held)
    if session.get_bind().dialect.name == "sqlite":
        take_write_lock(session)
        return session.get(model, item_id, populate_existing=True)
    return session.get(model, item_id, populate_existing=True, with_for_update=True)


def get_or_create(session, model, *, lock: bool = False, defaults: dict | None = None, **key):
    """The row whose unique ``key`` columns have these values, created (with ``defaults``) when there is none; a
    row created by a concurrent transaction a moment ago is found, not an error.  ``lock``: the row is locked for
    this transaction (row lock on PostgreSQL, the database write lock on SQLite), so read-modify-write on it is
    safe under concurrency."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError
    stmt = select(model).filter_by(**key).execution_options(populate_existing=True)
    if lock:
        if session.get_bind().dialect.name == "sqlite":
            take_write_lock(session)
        else:
            stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is not None:
        return row
    try:
        with savepoint(session):
            row = model(**key, **(defaults or {}))
            session.add(row)
            session.flush()
        return row
    except IntegrityError as exc:
        if unique_violation(exc) is None:
            raise
        return session.scalar(stmt)


def unique_violation(exc) -> str | None:
    """The name of the unique constraint (or unique index) an ``IntegrityError`` broke — ``""`` when the
    database does not say which — or None when the error is not a unique violation (a foreign key, CHECK or
    NOT NULL failing is a bug, not a race)."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:  # PostgreSQL (psycopg)
        if sqlstate != "23505":
            return None
        return getattr(getattr(orig, "diag", None), "constraint_name", None) or ""
    text = str(orig or "")
    if not text.startswith("UNIQUE constraint failed:"):  # SQLite
        return None
    rest = text.split(":", 1)[1].strip()
    if rest.startswith("index "):
        return rest[len("index "):].strip("'\"")
    columns = [c.strip() for c in rest.split(",")]
    table = Base.metadata.tables.get(columns[0].split(".", 1)[0])
    names = {c.split(".", 1)[-1] for c in columns}
    if table is None:
        return ""
    from sqlalchemy import UniqueConstraint
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and {c.name for c in constraint.columns} == names:
            return str(constraint.name)
    for index in table.indexes:
        if index.unique and {c.name for c in index.columns} == names:
            return str(index.name)
    return ""
