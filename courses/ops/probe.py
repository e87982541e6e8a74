"""PostgreSQL for test and benchmark runs.

`python -m courses.ops.probe URL` exits 0 when the database at URL answers, else says why;
`make test` uses it to decide whether to run the suite a second time on PostgreSQL.
`scratch_database` gives a run a database of its own, so parallel runs never collide.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError


def probe(url: str, timeout: int = 3) -> str | None:
    """None when a connection to `url` works; otherwise the reason in one line."""
    if not url.startswith("postgresql"):
        return f"{url!r} is not a PostgreSQL URL"
    try:
        engine = create_engine(url, connect_args={"connect_timeout": timeout})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except (ArgumentError, SQLAlchemyError, ImportError) as error:
        first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return f"no PostgreSQL reachable at {url} ({first_line})"
    return None


@contextmanager
def scratch_database(server_url: str, prefix: str = "courses_scratch") -> Iterator[str]:
    """Create a fresh database on the PostgreSQL server at `server_url`; yield its URL; drop it."""
    url = make_url(server_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # Connections left open by killed server processes would block the DROP.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m courses.ops.probe DATABASE_URL", file=sys.stderr)
        return 2
    reason = probe(argv[0])
    if reason:
        print(reason)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
