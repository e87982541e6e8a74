"""Column types and connection settings shared by every model.

Time stamps are stored as naive UTC on every database and handed back as aware UTC, so that
SQLite (which has no time zones) and PostgreSQL behave the same in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import has_request_context, request
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An instant: aware datetimes in, aware UTC datetimes out, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


#: HTTP methods whose requests only read; every other request (and every CLI command) writes.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """Make the embedded database safe for several processes: WAL, a busy wait, foreign keys."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # pysqlite's own implicit BEGIN is deferred, and a deferred transaction that later writes
    # fails at once with "database is locked" (the busy timeout does not apply to that
    # upgrade). Take transaction control away from it; `_begin_sqlite` emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(conn) -> None:
    """Open SQLite transactions that may write with BEGIN IMMEDIATE, so they queue for the lock.

    BEGIN IMMEDIATE takes the write lock up front and waits (busy timeout) while another
    process holds it; readers are never blocked (WAL). Read-only requests keep a plain BEGIN.
    """
    if conn.dialect.name != "sqlite":
        return
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


_READ_ONLY: ContextVar[bool] = ContextVar("sqlite_read_only", default=False)


@contextmanager
def read_only() -> Iterator[None]:
    """Declare that the transactions opened inside only read (e.g. a long export command).

    On SQLite they then start with a plain BEGIN and never hold up writers; a write inside
    one may fail with "database is locked". No effect on PostgreSQL.
    """
    token = _READ_ONLY.set(True)
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


_WRITING: ContextVar[bool] = ContextVar("sqlite_writing", default=False)


@contextmanager
def writing() -> Iterator[None]:
    """Declare that the transactions opened inside write, even in a GET request.

    On SQLite they then start with BEGIN IMMEDIATE and wait for the write lock, instead of
    failing at once with "database is locked" when a read transaction tries to become a write.
    End the request's reads first (commit) so that a new transaction begins inside.
    """
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)


def _may_write() -> bool:
    """Whether the current unit of work may write: any request but GET/HEAD, and every command."""
    if _WRITING.get():
        return True
    if _READ_ONLY.get():
        return False
    if has_request_context():
        return request.method not in READ_ONLY_METHODS
    return True
