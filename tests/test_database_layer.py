"""The database layer: who declares a write, where the SQLite settings live, and no Flask in it.

The concurrency tests use two applications on one SQLite file (two processes' worth of
connections), as `tests/production/test_production_sqlite.py` does; they need SQLite whatever
TEST_DATABASE_URL says, since only SQLite has one write lock.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from courses import create_app, database
from courses.database import read_only, writes, writing
from courses.extensions import db

DATABASE_PY = Path(__file__).resolve().parent.parent / "courses" / "database.py"


def _count_view():
    """A GET that reads, then writes: what the personal page's first visit does."""
    seen = db.session.execute(text("SELECT n FROM counter")).scalar()
    db.session.execute(text("UPDATE counter SET n = n + 10"))
    db.session.commit()
    return str(seen)


def _read_view():
    return str(db.session.execute(text("SELECT n FROM counter")).scalar())


@pytest.fixture
def shared_file(tmp_path):
    """The site (with a GET declared `writes`, its undeclared twin and a reading GET, each after
    a hook that reads) and a second application for the other process, on one SQLite file."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    site = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    # A hook that reads before the view (as the coordinator pages load the session): the
    # declaration must be in force from the request's first query, not from the view's.
    site.before_request(lambda: db.session.execute(text("SELECT count(*) FROM counter")) and None)
    site.add_url_rule("/test/declared", "declared", writes(_count_view))
    site.add_url_rule("/test/undeclared", "undeclared", _count_view)
    site.add_url_rule("/test/read", "read", _read_view)
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with site.app_context():
        db.session.execute(text("CREATE TABLE counter (n INTEGER)"))
        db.session.execute(text("INSERT INTO counter VALUES (0)"))
        db.session.commit()
    yield site, other
    for app in (site, other):
        with app.app_context():
            db.engine.dispose()


class Holder(threading.Thread):
    """Another process's unit of work: it holds the write lock (or, `reader`, a read
    transaction) from `started` until `release` is set, then commits."""

    def __init__(self, app, reader: bool = False) -> None:
        super().__init__()
        self.app, self.reader = app, reader
        self.started, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            if self.reader:
                with read_only():
                    db.session.execute(text("SELECT n FROM counter")).scalar()
                    self.started.set()
                    self.release.wait(30)
                    db.session.rollback()
            else:
                db.session.execute(text("UPDATE counter SET n = n + 1"))
                self.started.set()
                self.release.wait(30)
                db.session.commit()
            db.session.remove()

    def __enter__(self) -> Holder:
        self.start()
        assert self.started.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.join(30)


def _counter(app) -> int:
    with app.app_context():
        return db.session.execute(text("SELECT n FROM counter")).scalar()


def test_a_get_declared_writes_queues_for_the_lock_instead_of_failing(shared_file):
    site, other = shared_file
    answers = []
    with Holder(other) as holder:
        asking = threading.Thread(
            target=lambda: answers.append(site.test_client().get("/test/declared"))
        )
        asking.start()  # BEGIN IMMEDIATE: it waits (busy timeout) behind the holder
        asking.join(0.3)
        holder.release.set()
        asking.join(30)
    (answer,) = answers
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == "1"  # it read after the holder had committed
    assert _counter(site) == 11


def test_the_same_get_undeclared_fails_at_once_with_database_is_locked(shared_file, caplog):
    # Why the declaration matters: a GET reads in a plain BEGIN, which cannot wait to write.
    site, other = shared_file
    with Holder(other):
        answer = site.test_client().get("/test/undeclared")
    assert answer.status_code == 503
    assert "database is locked" in caplog.text
    assert _counter(site) == 1


def test_a_get_declared_writes_does_not_wait_for_readers(shared_file):
    site, other = shared_file
    with Holder(other, reader=True) as reader:
        answer = site.test_client().get("/test/declared")
        # Done while the other transaction still reads (WAL): readers hold up no writer.
        assert reader.is_alive()
    assert answer.status_code == 200
    assert _counter(site) == 10


def test_a_get_that_only_reads_takes_no_lock(shared_file):
    site, other = shared_file
    with Holder(other) as holder:
        answer = site.test_client().get("/test/read")
        # Answered while the other process still holds the write lock: a plain BEGIN.
        assert holder.is_alive()
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == "0"


def test_a_post_writes_without_declaring_it(shared_file):
    site, other = shared_file
    site.add_url_rule("/test/post", "post", _count_view, methods=["POST"])
    site.config["WTF_CSRF_ENABLED"] = False
    answers = []
    with Holder(other) as holder:
        asking = threading.Thread(
            target=lambda: answers.append(site.test_client().post("/test/post"))
        )
        asking.start()
        asking.join(0.3)
        holder.release.set()
        asking.join(30)
    assert answers[0].status_code == 200
    assert answers[0].get_data(as_text=True) == "1"


def test_what_nobody_declared_writes_and_the_innermost_declaration_wins():
    # A command or a job declares nothing: its transactions may write (BEGIN IMMEDIATE).
    assert database.may_write()
    with read_only():
        assert not database.may_write()
        with writing():
            assert database.may_write()
        assert not database.may_write()

    @writes
    def job() -> bool:
        return database.may_write()

    with read_only():
        assert job()
    assert database.declared_writer(job)
    assert not database.declared_writer(_count_view)


def test_the_audited_api_listing_is_declared_a_writer(app):
    # The mark survives the rate-limit decorators stacked above it.
    assert database.declared_writer(app.view_functions["api.enrollments"])
    assert not database.declared_writer(app.view_functions["participants.home"])


def test_the_sqlite_settings_sit_on_the_applications_engine_only(shared_file, tmp_path):
    site, _ = shared_file
    assert not event.contains(Engine, "connect", database._configure_sqlite)
    assert not event.contains(Engine, "begin", database._begin_sqlite)
    with site.app_context():
        assert event.contains(db.engine, "begin", database._begin_sqlite)
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        url = db.engine.url
    # Any other engine (a script's, a test's) keeps SQLite's own defaults.
    plain = create_engine(url)
    with plain.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 0
    plain.dispose()


def test_the_database_layer_does_not_import_flask():
    tree = ast.parse(DATABASE_PY.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported, "the parse found the imports"
    assert not {name for name in imported if name.split(".")[0].startswith("flask")}
    assert not {name for name in imported if name.startswith("courses")}
