"""Coordinator sessions held by the server, so that ending one really ends it.

The signed cookie only carries a random session id (Flask-Login's user id is that id); the
table keeps its SHA-256, who it belongs to and when it was last used. A copy of the cookie
stops working the moment its row is gone: at logout (that session), at a password change or
a deactivation (every session of the account), after 8 hours unused or 7 days in all. Nothing
derived from the password is in the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import g
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from courses.coordination.models import Coordinator
from courses.database import UTCDateTime, write_apart
from courses.extensions import db

#: A session unused this long ends (a coordinator's working day).
IDLE = timedelta(hours=8)
#: A session ends this long after the login, however busy.
ABSOLUTE = timedelta(days=7)
#: `last_seen_at` is written at most this often (a write per page would cost every GET).
TOUCH_EVERY = timedelta(minutes=5)
_CURRENT = "coordinator_session"


class CoordinatorSession(db.Model):
    """One logged-in browser of one coordinator."""

    __tablename__ = "coordinator_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(
        ForeignKey("coordinator.id", ondelete="CASCADE"), index=True
    )
    #: SHA-256 of the random id in the cookie; the id itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Last request seen (to within TOUCH_EVERY): the idle timeout counts from here.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(coordinator: Coordinator, now: datetime) -> str:
    """Open a session for `coordinator` (flush only); returns the id for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.execute(
        delete(CoordinatorSession).where(
            CoordinatorSession.coordinator_id == coordinator.id,
            (CoordinatorSession.created_at <= now - ABSOLUTE)
            | (CoordinatorSession.last_seen_at <= now - IDLE),
        )
    )
    db.session.add(
        CoordinatorSession(
            coordinator_id=coordinator.id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
        )
    )
    db.session.flush()
    coordinator.session_token = token
    return token


def load(token: str, now: datetime) -> Coordinator | None:
    """The active coordinator whose live session has this id, or None."""
    if not token or len(token) > 100:
        return None
    found = db.session.execute(
        select(CoordinatorSession, Coordinator)
        .join(Coordinator, Coordinator.id == CoordinatorSession.coordinator_id)
        .where(CoordinatorSession.token_hash == _hash(token))
    ).first()
    if found is None:
        return None
    row, coordinator = found
    if not coordinator.active or row.created_at <= now - ABSOLUTE:
        return None
    if row.last_seen_at <= now - IDLE:
        return None
    coordinator.session_token = token
    setattr(g, _CURRENT, (row.id, row.last_seen_at))
    return coordinator


def touch(now: datetime) -> None:
    """Record that the current session was used, at most every TOUCH_EVERY (commits).

    Called before the view runs, so there is nothing else to commit; the write gets a
    transaction of its own (`write_apart`: on SQLite a GET's read transaction cannot become a
    write, and most requests need not take the lock).
    """
    current = g.get(_CURRENT)
    if current is None or now - current[1] < TOUCH_EVERY:
        return
    session_id = current[0]
    try:
        with write_apart(db.session):
            row = db.session.get(CoordinatorSession, session_id)
            if row is not None:
                row.last_seen_at = now
    except OperationalError:
        # A busy database must not keep coordinators from their page; the next one touches.
        # (write_apart has rolled back.)
        pass


def end(token: str | None) -> None:
    """End the session with this id (flush only)."""
    if token:
        db.session.execute(
            delete(CoordinatorSession).where(CoordinatorSession.token_hash == _hash(token))
        )


def end_all(coordinator: Coordinator) -> None:
    """End every session of `coordinator`: a new password or a deactivation (flush only)."""
    db.session.execute(
        delete(CoordinatorSession).where(CoordinatorSession.coordinator_id == coordinator.id)
    )
