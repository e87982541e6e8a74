"""Column types, connection settings and transaction intent shared by every model.

Time stamps are stored as naive UTC on every database and handed back as aware UTC, so that
SQLite (which has no time zones) and PostgreSQL behave the same in Python.

Transaction intent (SQLite only): a transaction that may write begins with BEGIN IMMEDIATE and
queues for the one write lock; one that only reads begins with a plain BEGIN and never holds up
anybody. Whoever knows declares it: `writing()` / `read_only()` around a unit of work, `writes`
on a function (a view), `write_apart()` for the few writes of a unit of work that otherwise
reads. What the web requests declare by their method is said in the application factory
(`courses/__init__.py`), not here: this module knows nothing of Flask. Undeclared work (a
command, a job) counts as writing: a plain BEGIN that later writes fails at once with "database
is locked" (the busy timeout does not apply to that upgrade), while BEGIN IMMEDIATE only waits.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
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


def install(engine: Engine) -> None:
    """Give one engine (the application's own) the SQLite settings; other databases need none."""
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)


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


def _begin_sqlite(conn) -> None:
    """Open transactions that may write with BEGIN IMMEDIATE, so that they queue for the lock.

    BEGIN IMMEDIATE takes the write lock up front and waits (busy timeout) while another
    process holds it; readers are never blocked (WAL). Declared reads keep a plain BEGIN.
    """
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if may_write() else "BEGIN")


#: True: the current unit of work writes; False: it only reads; None: nobody said (it writes).
_WRITES: ContextVar[bool | None] = ContextVar("database_writes", default=None)


def may_write() -> bool:
    """Whether transactions opened now may write: yes unless a read was declared."""
    return _WRITES.get() is not False


def declare(writes: bool) -> Token:
    """Declare the intent of what runs from now on; `undeclare(token)` ends it. For a hook that
    cannot wrap the work (a web request: see `courses/__init__.py`); others use the context
    managers below. The innermost declaration wins."""
    return _WRITES.set(writes)


def undeclare(token: Token) -> None:
    """End the declaration `declare` returned `token` for."""
    _WRITES.reset(token)


@contextmanager
def writing() -> Iterator[None]:
    """Declare that the transactions opened inside write, even in a request that reads.

    On SQLite they then start with BEGIN IMMEDIATE and wait for the write lock, instead of
    failing at once with "database is locked" when a read transaction tries to become a write.
    A transaction already open stays what it is: end it first (or use `write_apart`).
    """
    token = declare(True)
    try:
        yield
    finally:
        undeclare(token)


@contextmanager
def read_only() -> Iterator[None]:
    """Declare that the transactions opened inside only read (e.g. a worker's poll).

    On SQLite they then start with a plain BEGIN and never hold up writers; a write inside
    one may fail with "database is locked". No effect on PostgreSQL.
    """
    token = declare(False)
    try:
        yield
    finally:
        undeclare(token)


@contextmanager
def write_apart(session: Session) -> Iterator[None]:
    """Write in a short transaction of its own, from a unit of work that otherwise only reads
    (a GET that records a download, the first visit to a personal page, a session's touch).

    Ends the reads (commit: nothing is pending in a read), runs the block inside `writing()`
    and commits it; on an error everything is rolled back and the error raised. The reads keep
    taking no lock, and only the write waits for it.
    """
    try:
        session.commit()
        with writing():
            yield
            session.commit()
    except BaseException:
        session.rollback()
        raise


F = TypeVar("F", bound=Callable[..., Any])

#: The mark `writes` leaves on a function, which the request hook reads.
WRITES_MARK = "writes_database"


def writes(function: F) -> F:
    """Declare that `function` writes, whatever else is declared around it.

    On a view, the application's request hook sees the mark and declares the whole request as
    writing from its first query (its before-request reads included), so the view reads and
    writes in one transaction that began IMMEDIATE and commits once, as a POST does. For GETs
    that always write and do little else; a GET that rarely writes, or reads at length (an
    export), uses `write_apart` for the write instead and takes no lock for the reads.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with writing():
            return function(*args, **kwargs)

    setattr(wrapper, WRITES_MARK, True)
    return wrapper  # type: ignore[return-value]


def declared_writer(function: object) -> bool:
    """Whether `function` carries the mark of `writes`."""
    return bool(getattr(function, WRITES_MARK, False))
