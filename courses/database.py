"""Column types and connection settings shared by every model.

Time stamps are stored as naive UTC on every database and handed back as aware UTC, so that
SQLite (which has no time zones) and PostgreSQL behave the same in Python.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
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


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """Make the embedded database safe for several processes: WAL, a busy wait, foreign keys."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
