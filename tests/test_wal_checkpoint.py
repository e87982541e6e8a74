"""SQLite's write-ahead log is copied back by the worker, not inside a request's commit.

A commit that crossed SQLite's default threshold (1,000 pages) copied the log back itself, in
12-20 ms inside the write lock; now only a log of `AUTOCHECKPOINT_PAGES` would make a commit do
that, and the worker's checkpoint thread does it every second, waiting for nobody, however
long the mail step waits for a slow mail server. These tests need a SQLite file whatever
TEST_DATABASE_URL says, but for `test_checkpoint_is_for_sqlite_files_only`, which runs on the
suite's database.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from courses import clock, create_app, database
from courses.extensions import db
from courses.mail.services import queue_email
from courses.mail.worker import MailDelivery
from courses.worker.checkpoint import Checkpoint
from courses.worker.loop import Worker
from courses.worker.steps import steps
from tests.smtp_servers import HoldingInbox, serving

#: Rows of ~4 KB: one WAL page each, so 1,500 of them cross SQLite's default threshold.
ROWS = 1500


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "wal.sqlite3"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.session.execute(text("CREATE TABLE page (body TEXT)"))
        db.session.commit()
    yield app, path
    with app.app_context():
        db.engine.dispose()


def _fill(app) -> None:
    with app.app_context():
        for _ in range(ROWS):  # one commit each, as registrations commit
            db.session.execute(text("INSERT INTO page VALUES (:b)"), {"b": "x" * 4000})
            db.session.commit()


def test_commits_leave_the_log_to_the_worker(site):
    app, path = site
    with app.app_context():
        assert db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == (
            database.AUTOCHECKPOINT_PAGES
        )
        db.session.rollback()
    _fill(app)
    wal = path.with_name(path.name + "-wal")
    # The log is reused from its start once copied back: past 1,500 pages, no commit did it.
    assert wal.stat().st_size > ROWS * 4096
    with app.app_context():
        copied = database.checkpoint(db.engine)
        assert copied is not None and copied > ROWS
        assert database.checkpoint(db.engine) == copied  # all of it: nothing new to copy


def _log_frames(app) -> int:
    """Frames in the log after one more commit: a log copied back whole starts again from its
    first frame at the next commit, so a handful means a checkpoint copied it all (the look
    is itself a checkpoint: it copies the log back too, after counting)."""
    with app.app_context():
        db.session.execute(text("INSERT INTO page VALUES ('x')"))
        db.session.commit()
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            _busy, frames, _copied = connection.exec_driver_sql(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).one()
    return frames


def _wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_worker_step_checkpoints_on_a_thread_of_its_own(site):
    app, _ = site
    assert any(isinstance(step, Checkpoint) for step in steps())
    step = Checkpoint(every=0.05)
    worker = Worker(app, [step], idle_seconds=0.1)
    _fill(app)
    with app.app_context():
        assert step.run(worker) is False  # never "more waiting": the loop may sleep
        step.run(worker)  # one thread, however many turns start it
    thread = step._thread
    try:
        assert _wait_for(lambda: step.runs >= 2)
        assert thread is not None and thread.is_alive() and step._thread is thread
    finally:
        step.close()
    assert not thread.is_alive()
    with app.app_context():
        step.run(worker)  # closed for good: no thread again
    assert step._thread is thread
    assert _log_frames(app) < 10  # the thread ended: it cannot race the look's commit


def test_the_log_is_copied_back_while_a_slow_mail_server_holds_the_mail_step(site):
    """A turn waits for its mail step, which waits for the mail server (2 s per message at a
    slow provider, 20 to a batch): the checkpoint must not wait with it, or a burst of
    registrations meanwhile grows the log until a request's commit copies it back."""
    app, _ = site
    with app.app_context():
        db.create_all()
        queue_email(
            kind="confirmation",
            recipient="ana@example.org",
            template="unused",
            language="es",
            now=clock.now(),
            rendered=("Tu inscripción", "Hola", None),
        )
        db.session.commit()
    with serving(HoldingInbox()) as inbox:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=inbox.port, MAIL_TIMEOUT=60)
        checkpoint = Checkpoint(every=0.05)
        worker = Worker(app, [checkpoint, MailDelivery()], idle_seconds=0.1)  # as steps()
        running = threading.Thread(target=worker.run)
        running.start()
        try:
            assert inbox.arrived.wait(20)  # the mail step is in the middle of its batch
            _fill(app)
            runs = checkpoint.runs
            assert _wait_for(lambda: checkpoint.runs > runs + 1)  # a whole run after the fill
            checkpoint.close()  # so that it cannot race the look's commit
            assert _log_frames(app) < 10
            assert inbox.messages == []  # all of it while the mail server still held the step
        finally:
            inbox.release.set()
            worker.stop()
            running.join(30)
    assert len(inbox.messages) == 1


def test_checkpoint_is_for_sqlite_files_only(app):
    """The suite's database (in-memory SQLite, or PostgreSQL) has no log to copy back."""
    with app.app_context():
        assert database.checkpoint(db.engine) is None


def test_a_failing_checkpoint_is_logged_once_until_it_works_again(site, monkeypatch, caplog):
    """A read-only or broken file fails every second: one line says so, one says it is back."""
    app, _ = site
    real = database.checkpoint
    results = iter([OSError("disk I/O error")] * 5)

    def checkpoint(engine):
        outcome = next(results, None)
        if outcome is not None:
            raise outcome
        return real(engine)

    monkeypatch.setattr(database, "checkpoint", checkpoint)
    step = Checkpoint(every=0.01)
    with caplog.at_level("INFO", logger="courses.worker.checkpoint"):
        with app.app_context():
            step.run(Worker(app, [step], idle_seconds=0.1))
        try:
            assert _wait_for(lambda: step.runs >= 2)
        finally:
            step.close()
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "worker: checkpoint failed; trying again every second",
        "worker: checkpoints work again",
    ]
