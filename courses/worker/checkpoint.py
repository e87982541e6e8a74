"""The worker's checkpoint step (SQLite): the write-ahead log copied back outside any request.

SQLite appends every commit to its write-ahead log and copies the log back into the database
file from time to time. Left to itself, it does that inside the commit that crosses the
threshold, so one registration in ~150 paid 12-20 ms inside the write lock while every other
writer waited (`database.AUTOCHECKPOINT_PAGES`). The worker turns every half second or so;
a PASSIVE checkpoint there waits for nobody and is never waited for. On PostgreSQL it does
nothing.
"""

from __future__ import annotations

import time

from courses import database
from courses.extensions import db

#: Seconds between two checkpoints: often enough that the log stays small.
EVERY_SECONDS = 1.0


class Checkpoint:
    """Copies SQLite's log back into the database file, at most once a second."""

    name = "checkpoint"

    def __init__(self) -> None:
        self._last = 0.0

    def run(self, worker) -> bool:
        if time.monotonic() - self._last < EVERY_SECONDS:
            return False
        self._last = time.monotonic()
        database.checkpoint(db.engine)
        return False
