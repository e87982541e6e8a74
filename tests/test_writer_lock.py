"""The writer lock: SQLite's writers queue for it, across threads and processes, before BEGIN
IMMEDIATE, and get it back however their transaction ends.

The other process is a real one (a Python child holding the lock until told to go on); SQLite
whatever TEST_DATABASE_URL says, since only SQLite has one write lock. No timed assertions: what
a blocked writer observes (the rows it reads, who holds the file lock) says what happened.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from courses import database
from courses.database import WriterLock

ROOT = Path(__file__).resolve().parent.parent

#: The other process: it holds the writer lock (`lock`) or a whole writing transaction
#: (`transaction`) until a line comes in, then gives it back and waits for another line.
HOLDER = """
import sys
from sqlalchemy import create_engine, text
from courses import database

url, what = sys.argv[1], sys.argv[2]
if what == "lock":
    lock = database.WriterLock.for_database(url.removeprefix("sqlite:///"))
    assert lock.acquire(5)
else:
    engine = create_engine(url)
    database.install(engine)
    conn = engine.connect()
    conn.execute(text("UPDATE counter SET n = n + 1"))
print("holding", flush=True)
sys.stdin.readline()
if what == "lock":
    lock.release()
else:
    conn.commit()
print("released", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def db_file(tmp_path) -> Iterator[Path]:
    path = tmp_path / "writers.sqlite3"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE counter (n INTEGER)")
        conn.execute("INSERT INTO counter VALUES (0)")
    yield path


def _engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    database.install(engine)
    return engine


class Holder:
    """The other process, holding `what` ("lock" or "transaction") from `with` on."""

    def __init__(self, path: Path, what: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, f"sqlite:///{path}", what],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def __enter__(self) -> Holder:
        assert self.process.stdout.readline().strip() == "holding"
        return self

    def release(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "released"

    def __exit__(self, *exc) -> None:
        self.process.kill()
        self.process.communicate(timeout=30)  # waits, and closes the pipes


class Writer(threading.Thread):
    """A writing transaction through the app's settings: reads the counter, adds 10."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine, self.seen, self.error = engine, None, None

    def run(self) -> None:
        try:
            with self.engine.begin() as conn:
                self.seen = conn.execute(text("SELECT n FROM counter")).scalar()
                conn.execute(text("UPDATE counter SET n = n + 10"))
        except OperationalError as error:
            self.error = error


def _file_lock_taken(path: Path) -> bool:
    """Whether some process holds the writer lock's file lock right now."""
    fd = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock if we got it
    return False


def _free_for_another_thread(lock: WriterLock) -> bool:
    got = []

    def take() -> None:
        got.append(lock.acquire(0))
        if got[0]:
            lock.release()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(10)
    return got == [True]


def test_a_writer_waits_for_another_processes_transaction_and_goes_in_when_it_commits(db_file):
    engine = _engine(db_file)
    with Holder(db_file, "transaction") as holder:
        assert _file_lock_taken(db_file)  # the other process queued through the writer lock
        writer = Writer(engine)
        writer.start()
        writer.join(0.3)
        assert writer.is_alive()
        holder.release()
        writer.join(30)
        # In as soon as the other committed, while that process still runs.
        assert not writer.is_alive() and holder.process.poll() is None
    assert writer.error is None and writer.seen == 1
    engine.dispose()


def test_writers_queue_for_the_writer_lock_while_sqlites_own_lock_is_free(db_file):
    engine = _engine(db_file)
    with Holder(db_file, "lock") as holder:
        writer = Writer(engine)
        writer.start()
        writer.join(0.3)
        # SQLite's lock is free (no busy wait allowed): the writer waits for the writer lock,
        # not inside a transaction, so it will read what is written now.
        with closing(sqlite3.connect(db_file, timeout=0, isolation_level=None)) as raw:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("UPDATE counter SET n = 100")
            raw.execute("COMMIT")
        assert writer.is_alive()
        holder.release()
        writer.join(30)
    assert writer.error is None and writer.seen == 100
    engine.dispose()


def test_a_holder_that_never_releases_holds_a_writer_up_only_for_the_busy_timeout(
    db_file, monkeypatch
):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    engine = _engine(db_file)
    with Holder(db_file, "lock"):
        writer = Writer(engine)
        writer.start()
        writer.join(30)
        # It gave up on the writer lock and wrote with SQLite's lock alone.
        assert _file_lock_taken(db_file)
    assert writer.error is None and writer.seen == 0
    engine.dispose()


def test_a_hung_transaction_still_ends_in_database_is_locked(db_file, monkeypatch):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    engine = _engine(db_file)
    with Holder(db_file, "transaction"):
        writer = Writer(engine)
        writer.start()
        writer.join(30)
    assert "database is locked" in str(writer.error)
    engine.dispose()


def test_the_holding_thread_may_take_it_again_and_others_wait_for_the_last_release(tmp_path):
    lock = WriterLock.for_database(str(tmp_path / "reentrant.sqlite3"))
    assert lock.acquire(0)
    assert lock.acquire(0)  # a second connection of the same unit of work: no self-deadlock
    assert not _free_for_another_thread(lock)
    lock.release()
    assert not _free_for_another_thread(lock)
    lock.release()
    assert _free_for_another_thread(lock)


@pytest.mark.parametrize("ending", ["commit", "rollback", "error", "returned", "invalidated"])
def test_every_end_of_a_writing_transaction_gives_the_lock_back(db_file, ending):
    engine = _engine(db_file)
    lock = WriterLock.for_database(str(db_file))
    conn = engine.connect()
    conn.execute(text("UPDATE counter SET n = n + 1"))
    assert not _free_for_another_thread(lock)
    if ending == "commit":
        conn.commit()
    elif ending == "rollback":
        conn.rollback()
    elif ending == "error":
        with pytest.raises(OperationalError):
            conn.execute(text("UPDATE nowhere SET n = 1"))
        conn.rollback()
    elif ending == "invalidated":
        conn.invalidate()
    conn.close()  # "returned": the pool's reset rolls the open transaction back
    assert _free_for_another_thread(lock)
    assert not _file_lock_taken(db_file)
    engine.dispose()


def test_reads_and_memory_databases_take_no_writer_lock(db_file):
    engine = _engine(db_file)
    lock = WriterLock.for_database(str(db_file))
    with database.read_only(), engine.connect() as conn:
        conn.execute(text("SELECT n FROM counter"))
        assert _free_for_another_thread(lock)
    memory = create_engine("sqlite://")
    database.install(memory)
    assert getattr(memory.dialect, database._WRITER_LOCK, None) is None
    engine.dispose()
