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

Writers queue (SQLite only, on a file): before BEGIN IMMEDIATE a writing transaction takes the
database's writer lock (`WriterLock`: a thread lock and an OS file lock on `<db>-writer.lock`),
and gives it back when the transaction ends. SQLite's own busy handler sleeps in coarse steps
(1, 2, 5, 10… 50 ms), so the write lock often sat free while every waiter slept; the writer lock
wakes the next writer as soon as it is free.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import threading
import time
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


def plain_rows(session: Session, statement: Any, params: dict[str, Any]) -> Any:
    """Run a Core statement of plain columns on the session's connection, in its transaction.

    `Session.execute` would route it through the ORM's loading anyway, with a row processor
    per column: 285 → 100 µs for the personal page's one statement of 19 columns. For
    statements of table columns only, read by pages that show plain values."""
    return session.connection().execute(statement, params)


#: How long a writer waits for SQLite's write lock (and for the writer lock before it).
BUSY_TIMEOUT_MS = 15000
#: WAL pages after which a committing connection copies the log back into the database itself
#: (SQLite's default is 1,000). That copy takes 12-20 ms, inside the commit and so inside the
#: write lock, every ~150 registrations: every writer behind it waits. The delivery worker
#: checkpoints every turn instead (`checkpoint`, PASSIVE: it waits for no reader or writer);
#: this threshold is only the safety net of a site whose worker is not running.
AUTOCHECKPOINT_PAGES = 10000


def install(engine: Engine) -> None:
    """Give one engine (the application's own) the SQLite settings; other databases need none."""
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    path = _sqlite_file(engine)
    if path is not None:
        queue_writers(engine, WriterLock.for_database(path))


def _sqlite_file(engine: Engine) -> str | None:
    """The path of the SQLite file behind `engine`; None for an in-memory database or another
    server (neither has a writer lock to queue for nor a log to copy back)."""
    path = engine.url.database or ""
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None
    return None if "mode=memory" in str(engine.url) else path


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
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
    cursor.close()


def checkpoint(engine: Engine) -> int | None:
    """Copy SQLite's write-ahead log back into the database file without waiting for anyone
    (PASSIVE), outside any request's commit; the frames copied, or None but on a SQLite file."""
    if _sqlite_file(engine) is None:
        return None
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        _busy, _log, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return copied


def _begin_sqlite(conn) -> None:
    """Open transactions that may write with BEGIN IMMEDIATE, so that they queue for the lock.

    BEGIN IMMEDIATE takes the write lock up front and waits (busy timeout) while another
    process holds it; readers are never blocked (WAL). Declared reads keep a plain BEGIN.
    On a file, the writer lock comes first (`WriterLock`), so SQLite's lock is free when asked.
    """
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    if not may_write():
        # Straight to the driver: SQLAlchemy's statement machinery (execution context, result,
        # events) cost some forty Python calls on every page for this one fixed statement. A
        # plain BEGIN waits for no lock; should it fail anyway (a disk error), it is sent again
        # through SQLAlchemy, whose wrapped error the 503 page answers and whose pool then
        # drops the connection.
        try:
            conn.connection.driver_connection.execute("BEGIN")
        except sqlite3.Error:
            conn.exec_driver_sql("BEGIN")
        return
    _release(conn.info)  # a hold no ending gave back (there should be none)
    lock = getattr(conn.dialect, _WRITER_LOCK, None)
    if lock is not None and lock.acquire(BUSY_TIMEOUT_MS / 1000):
        conn.info[_WRITER_LOCK] = lock
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _release(conn.info)
        raise


#: Where a connection keeps the writer lock it holds (its record's `info`, kept across checkouts).
_WRITER_LOCK = "courses_writer_lock"


class WriterLock:
    """The queue of one SQLite file's writers: one at a time across threads and processes.

    A thread lock orders the threads of a process (woken the moment it is released); an OS file
    lock (`flock` on `<db>-writer.lock`) orders the processes. The file lock is polled every
    0.1–0.5 ms rather than waited for, so that a holder that hangs holds nobody past `timeout`:
    a writer that gets no lock by then goes on to BEGIN IMMEDIATE, which still waits SQLite's
    busy timeout and then fails with "database is locked", as before there was a queue.
    The thread that holds it may take it again (a second connection of the same unit of work),
    which only counts: SQLite's own lock then decides, as it did before.
    """

    _by_path: dict[str, WriterLock] = {}
    _by_path_guard = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path
        self._gate = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._fd: int | None = None

    @classmethod
    def for_database(cls, database: str) -> WriterLock:
        """The one lock of the file `database` in this process (engines on it share it)."""
        path = os.path.abspath(database) + "-writer.lock"
        with cls._by_path_guard:
            return cls._by_path.setdefault(path, cls(path))

    def acquire(self, timeout: float) -> bool:
        """Take the lock within `timeout` seconds; False (nothing held) if it could not."""
        me = threading.get_ident()
        if self._owner == me:
            self._depth += 1
            return True
        deadline = time.monotonic() + timeout
        if not self._gate.acquire(timeout=timeout):
            return False
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError:  # a directory we may not write in: SQLite's lock alone, as before
            self._gate.release()
            return False
        pause = 0.0001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    self._gate.release()
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.0005)
        self._fd, self._owner, self._depth = fd, me, 1
        return True

    def release(self) -> None:
        """Give back one `acquire`; the last one frees the lock for the next writer."""
        self._depth -= 1
        if self._depth > 0:
            return
        fd, self._fd, self._owner = self._fd, None, None
        if fd is not None:
            os.close(fd)  # closing the file drops its flock
        self._gate.release()

    @classmethod
    def _forget_in_child(cls) -> None:
        # A forked child inherits the parent's state and file: it holds nothing, and must not
        # keep the parent's open file (and with it the parent's flock) alive.
        for lock in cls._by_path.values():
            if lock._fd is not None:
                os.close(lock._fd)
            lock._gate, lock._owner, lock._depth, lock._fd = threading.Lock(), None, 0, None


os.register_at_fork(after_in_child=WriterLock._forget_in_child)


def queue_writers(engine: Engine, lock: WriterLock) -> None:
    """Make the writing transactions of `engine` take `lock` first (see `_begin_sqlite`) and
    give it back however they end: commit, rollback, the pool's reset of a connection handed
    back, or a connection invalidated or closed."""
    dialect = engine.dialect
    # Every commit and rollback, the pool's reset included, goes through these two.
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _release(_info_of(dbapi_connection))

    def do_rollback(dbapi_connection) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _release(_info_of(dbapi_connection))

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback  # type: ignore[method-assign]
    setattr(dialect, _WRITER_LOCK, lock)
    event.listen(engine, "invalidate", _release_invalidated)
    event.listen(engine, "close", _release_closed)


def _release_invalidated(dbapi_connection, connection_record, exception) -> None:
    _release(connection_record.info)


def _release_closed(dbapi_connection, connection_record) -> None:
    _release(connection_record.info)


def _info_of(dbapi_connection) -> dict | None:
    # A pooled connection's `info`; the raw or ad hoc ones (the dialect's first connect) have none.
    try:
        return dbapi_connection.info
    except (AttributeError, NotImplementedError):
        return None


def _release(info: dict | None) -> None:
    lock = info.pop(_WRITER_LOCK, None) if info is not None else None
    if lock is not None:
        lock.release()


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
