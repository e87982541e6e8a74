"""SQLite's write-ahead log is copied back by the worker, not inside a request's commit.

A commit that crossed SQLite's default threshold (1,000 pages) copied the log back itself, in
12-20 ms inside the write lock; now only a log of `AUTOCHECKPOINT_PAGES` would make a commit do
that, and the worker's checkpoint step does it every second, waiting for nobody. These tests
need a SQLite file whatever TEST_DATABASE_URL says; the last one runs on the suite's database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from courses import create_app, database
from courses.extensions import db
from courses.worker.checkpoint import Checkpoint
from courses.worker.loop import Worker
from courses.worker.steps import steps

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


def test_the_worker_step_checkpoints_at_most_once_a_second(site, monkeypatch):
    app, _ = site
    assert any(isinstance(step, Checkpoint) for step in steps())
    step = Checkpoint()
    worker = Worker(app, [step], idle_seconds=0.1)
    _fill(app)
    copies = []
    real = database.checkpoint
    monkeypatch.setattr(database, "checkpoint", lambda engine: copies.append(real(engine)))
    clock = [1000.0]
    monkeypatch.setattr("courses.worker.checkpoint.time.monotonic", lambda: clock[0])
    with app.app_context():
        assert step.run(worker) is False  # never "more waiting": the loop may sleep
        clock[0] += 0.5
        step.run(worker)  # too soon
        clock[0] += 0.6
        step.run(worker)
    assert len(copies) == 2 and copies[0] > ROWS


def test_checkpoint_is_for_sqlite_files_only(app):
    """The suite's database (in-memory SQLite, or PostgreSQL) has no log to copy back."""
    with app.app_context():
        assert database.checkpoint(db.engine) is None
