"""The worker's checkpoint (SQLite): the write-ahead log copied back outside any request.

SQLite appends every commit to its write-ahead log and copies the log back into the database
file from time to time. Left to itself, it does that inside the commit that crosses the
threshold, so one registration in ~150 paid 12-20 ms inside the write lock while every other
writer waited (`database.AUTOCHECKPOINT_PAGES`). Here a PASSIVE checkpoint, which waits for
nobody and is never waited for, runs every second.

It runs on a thread of its own, not in the worker's turn: a turn waits for the mail step, and
with a mail server taking 2 s per message a batch of 20 keeps the mail step busy for 40 s. A
burst of registrations meanwhile (the launch of a cycle, announced in a WhatsApp group) grew
the log past the threshold, and a registration's commit copied tens of megabytes back inside
the write lock. The thread waits on sqlite3 calls without the GIL, so it takes nothing from
the mail step. On PostgreSQL (or an in-memory database) the thread ends after its first look.
"""

from __future__ import annotations

import logging
import threading

from courses import database
from courses.extensions import db

log = logging.getLogger(__name__)

#: Seconds between two checkpoints: often enough that the log stays small.
EVERY_SECONDS = 1.0


class Checkpoint:
    """Copies SQLite's log back into the database file once a second, on a thread."""

    name = "checkpoint"

    def __init__(self, every: float = EVERY_SECONDS) -> None:
        self.every = every
        #: Checkpoints run so far (what tests wait for).
        self.runs = 0
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._needed = True

    def run(self, worker) -> bool:
        """Start the checkpointing thread (again, if it ended by accident); never waits."""
        if self._needed and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(
                target=self._serve, args=(db.engine,), name="checkpoint", daemon=True
            )
            self._thread.start()
        return False  # never "more waiting": the loop may sleep

    def close(self, timeout: float = 5.0) -> None:
        """End the thread for good (a checkpoint in hand finishes first: it is PASSIVE, so
        short); a later `run` starts no other."""
        self._needed = False
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _serve(self, engine) -> None:
        failing = False
        while True:
            try:
                if database.checkpoint(engine) is None:
                    self._needed = False  # not a SQLite file: nothing to copy back, ever
                    return
                self.runs += 1
                if failing:
                    log.info("worker: checkpoints work again")
                    failing = False
            except Exception:
                # A read-only or vanished file: the next second tries again, as a step would,
                # but the log says so once, not every second.
                if not failing:
                    failing = True
                    log.exception("worker: checkpoint failed; trying again every second")
            if self._closing.wait(self.every):
                return
