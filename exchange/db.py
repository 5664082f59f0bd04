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


class Money(TypeDecorator):
    """Amounts in 元: Numeric(16, 2), Decimal in and out."""

    impl = Numeric(16, 2)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        return Decimal(value).quantize(Decimal("0.01"))

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
    PostgreSQL, the database write lock on SQLite."""
    if session.get_bind().dialect.name == "sqlite":
        take_write_lock(session)
        return session.get(model, item_id, populate_existing=True)
    return session.get(model, item_id, populate_existing=True, with_for_update=True)
