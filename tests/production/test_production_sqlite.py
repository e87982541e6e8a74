"""SQLite under concurrent writers: writing transactions queue for the lock instead of failing."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from courses import create_app
from courses.database import read_only, writing
from courses.extensions import db


@pytest.fixture
def shared_file(tmp_path):
    """Two applications (two processes' worth of connections) on one SQLite file."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    second = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with first.app_context():
        db.session.execute(text("CREATE TABLE counter (n INTEGER)"))
        db.session.execute(text("INSERT INTO counter VALUES (0)"))
        db.session.commit()
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def _hold(app, started: threading.Event, seconds: float, reader: bool = False) -> None:
    """A command-line unit of work that keeps its transaction open for `seconds`."""
    with app.app_context():
        if reader:
            with read_only():
                db.session.execute(text("SELECT n FROM counter")).scalar()
                started.set()
                time.sleep(seconds)
                db.session.rollback()
        else:
            db.session.execute(text("UPDATE counter SET n = n + 1"))
            started.set()
            time.sleep(seconds)
            db.session.commit()
        db.session.remove()


def _read_then_write(app, method: str) -> int:
    """What a view does: read, then write, then commit. Returns the value it read first."""
    with app.test_request_context("/", method=method):
        app.preprocess_request()  # the request's hooks: the factory's declares its write intent
        seen = db.session.execute(text("SELECT n FROM counter")).scalar()
        db.session.execute(text("UPDATE counter SET n = n + 10"))
        db.session.commit()
        db.session.remove()
    return seen


def test_a_post_waits_for_the_write_lock_instead_of_failing(shared_file):
    first, second = shared_file
    started = threading.Event()
    holder = threading.Thread(target=_hold, args=(first, started, 0.5))
    holder.start()
    started.wait(5)
    seen = _read_then_write(second, "POST")  # BEGIN IMMEDIATE: queues behind the holder
    holder.join()
    # Its transaction began only after the holder's had committed (it read the holder's +1):
    # it waited for the lock instead of failing.
    assert seen == 1
    with second.app_context():
        assert db.session.execute(text("SELECT n FROM counter")).scalar() == 11


def test_a_deferred_transaction_that_writes_late_would_fail_at_once(shared_file):
    # Why writes use BEGIN IMMEDIATE: a plain BEGIN that reads first cannot wait for the lock.
    first, second = shared_file
    started = threading.Event()
    holder = threading.Thread(target=_hold, args=(first, started, 0.5))
    holder.start()
    started.wait(5)
    with pytest.raises(OperationalError, match="database is locked"):
        _read_then_write(second, "GET")
    holder.join()


def test_a_declared_read_only_command_never_holds_up_writers(shared_file):
    first, second = shared_file
    started = threading.Event()
    reader = threading.Thread(target=_hold, args=(first, started, 1.0, True))
    reader.start()
    started.wait(5)
    _read_then_write(second, "POST")
    # The write is done while the reader still holds its transaction open: it never waited.
    assert reader.is_alive()
    reader.join()


def test_a_get_that_declares_its_write_waits_for_the_lock(shared_file):
    # What the personal page does on a first visit (confirmed_at) and downloads do (audit):
    # end the reads, then write inside `writing()`, which begins IMMEDIATE and queues.
    first, second = shared_file
    started = threading.Event()
    holder = threading.Thread(target=_hold, args=(first, started, 0.5))
    holder.start()
    started.wait(5)
    with second.test_request_context("/", method="GET"):
        db.session.execute(text("SELECT n FROM counter")).scalar()
        db.session.commit()
        with writing():
            db.session.execute(text("SELECT n FROM counter")).scalar()
            db.session.execute(text("UPDATE counter SET n = n + 10"))
            db.session.commit()
        db.session.remove()
    holder.join()
    with second.app_context():
        assert db.session.execute(text("SELECT n FROM counter")).scalar() == 11
