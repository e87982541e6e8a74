"""`python -m courses.ops.probe URL`: exit 0 when the database at URL answers, else say why.

`make test` uses it to decide whether to run the suite a second time on PostgreSQL.
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
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
