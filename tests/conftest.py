"""Shared fixtures: an application with an empty database per test, a client, a CLI runner,
and real SMTP servers (tests/smtp_servers.py).

By default each test gets a private in-memory SQLite database. When TEST_DATABASE_URL names a
PostgreSQL server, the session creates a database of its own there (so parallel runs never
collide), every test gets empty tables in it, and it is dropped at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from courses import create_app
from courses.extensions import db
from courses.ops.probe import scratch_database
from tests import smtp_servers
from tests.factories import OPEN_NOW


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The URL tests use: in-memory SQLite, or a fresh PostgreSQL database for this session."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        yield "sqlite://"
        return
    with scratch_database(base, prefix="courses_test") as url:
        yield url


@pytest.fixture
def app(database_url: str):
    """The application, yielded outside any context (as in the Flask tutorial): each request
    of the test client runs in its own context with its own session, as in production, and the
    test opens `with app.app_context():` itself where it builds or reads rows."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.create_all()  # on PostgreSQL only the first test creates; later ones just check
    yield app
    with app.app_context():
        db.session.remove()
        if database_url.startswith("postgresql"):
            _empty_tables()  # DDL is slow on PostgreSQL: keep the tables, drop the rows
        else:
            db.drop_all()
        db.engine.dispose()


def _empty_tables() -> None:
    """Delete every row (children first) and restart every id sequence at 1."""
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '30s'"))  # a leaked transaction fails loudly
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = conn.execute(
            text("SELECT sequence_name FROM information_schema.sequences")
        ).scalars()
        for sequence in sequences.all():
            conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))


@pytest.fixture
def shared_app(app, database_url: str, tmp_path) -> Iterator:
    """An application whose requests (and worker threads) can really run at once, open now:
    the PostgreSQL one, or instead of the in-memory SQLite database (a single connection) a
    SQLite file, so each thread has a connection of its own."""
    if database_url.startswith("postgresql"):
        shared = app
    else:
        url = f"sqlite:///{tmp_path / 'concurrent.sqlite3'}"
        shared = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        with shared.app_context():
            db.create_all()
    shared.config["FIXED_NOW"] = OPEN_NOW
    yield shared
    if shared is not app:
        with shared.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def smtp_server() -> Iterator[smtp_servers.Inbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts."""
    with smtp_servers.serving(smtp_servers.Inbox()) as inbox:
        yield inbox


@pytest.fixture
def refusing_server() -> Iterator[smtp_servers.RefusingInbox]:
    """A real SMTP server that refuses every recipient with 550."""
    with smtp_servers.serving(smtp_servers.RefusingInbox()) as handler:
        yield handler


@pytest.fixture
def busy_server() -> Iterator[smtp_servers.BusyInbox]:
    """A real SMTP server that refuses every recipient for now (451)."""
    with smtp_servers.serving(smtp_servers.BusyInbox()) as handler:
        yield handler


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """The port of a server that accepts connections and never answers (a hung mail server)."""
    with smtp_servers.hanging() as port:
        yield port


@pytest.fixture
def dead_port() -> int:
    """A port where nothing listens: connections are refused at once."""
    return smtp_servers.free_port()
