"""The worker's loop: run every step, sleep until woken, stop cleanly on SIGTERM or Ctrl-C.

Each turn runs the steps of `courses.worker.steps.steps()` in order, each in its own
application context (the webhook step only wakes a sender thread of its own, so that no
receiver, however slow, holds up the mail step). A step answers whether it left work behind (a
full batch): then the next turn starts at once; otherwise the worker waits for a wake-up, at
most `idle_seconds`:

- on PostgreSQL, a NOTIFY on `courses.mail.services.CHANNEL`, sent by the transaction that
  queued a message and delivered when it commits (LISTEN on a connection of its own);
- on SQLite, nothing can wake it: it polls every `MAIL_POLL_SECONDS` (half a second), with a
  read that takes no lock.

A stop signal is noted, never acted upon in the middle of a step: the message in hand is
finished and recorded, what was claimed but not tried is released, the webhook delivery in hand
gets a few seconds more (`api.worker.STOP_WAIT_SECONDS`), then the worker exits.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Sequence
from typing import Protocol

from flask import Flask

from courses.extensions import db
from courses.mail.services import CHANNEL

log = logging.getLogger(__name__)

#: Longest single sleep: a stop signal is noticed within this many seconds.
SLICE_SECONDS = 0.5


class Step(Protocol):
    """One kind of background work. `run` returns True when more is waiting right now.

    A step that works on a thread of its own (webhooks) also has `close()`, which the worker
    calls once as it stops."""

    name: str

    def run(self, worker: Worker) -> bool: ...


class Worker:
    """Runs `steps` until stopped."""

    def __init__(self, app: Flask, steps: Sequence[Step], *, idle_seconds: float) -> None:
        self.app = app
        self.steps = list(steps)
        self.idle_seconds = idle_seconds
        self.stopping = False
        self._listener = None
        self._listen_again_at = 0.0

    # --- stopping -----------------------------------------------------------------------------

    def stop(self, signum: int | None = None, _frame=None) -> None:
        """Ask the worker to stop after the message in hand (a signal handler)."""
        if not self.stopping and signum is not None:
            log.info("worker: %s received, finishing the work in hand", signal.Signals(signum).name)
        self.stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake for a stop signal (steps use it to back off)."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, SLICE_SECONDS))

    # --- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        with self.app.app_context():
            postgres = db.engine.dialect.name == "postgresql"
            url = db.engine.url
        names = ", ".join(step.name for step in self.steps)
        log.info("worker: started (%s; steps: %s)", url.get_backend_name(), names)
        try:
            while not self.stopping:
                if (
                    postgres
                    and self._listener is None
                    and time.monotonic() >= self._listen_again_at
                ):
                    self._listener = _listen(url)
                    self._listen_again_at = time.monotonic() + 10
                if not self.turn():
                    self.wait()
        finally:
            if self._listener is not None:
                self._listener.close()
            self.close()
            log.info("worker: stopped")

    def close(self) -> None:
        """End the steps' own threads (the webhook sender, the checkpoint): after `run`, or
        after turns run by hand (`turn`), as tests and one-off runs do."""
        for step in self.steps:
            if (close := getattr(step, "close", None)) is not None:
                close()

    def turn(self) -> bool:
        """Run each step once; whether any left work waiting."""
        busy = False
        for step in self.steps:
            if self.stopping:
                break
            with self.app.app_context():
                try:
                    busy = step.run(self) or busy
                except Exception:
                    # One failing step (or a database hiccup) must not stop the others.
                    log.exception("worker: step %s failed", step.name)
                    db.session.rollback()
                    self.sleep(1.0)
                finally:
                    db.session.remove()
        return busy

    def wait(self) -> None:
        """Until a NOTIFY (PostgreSQL), the poll interval (SQLite) or `idle_seconds` pass."""
        if self._listener is None:
            poll = float(self.app.config.get("MAIL_POLL_SECONDS", 0.5))
            self.sleep(min(poll, self.idle_seconds))
            return
        deadline = time.monotonic() + self.idle_seconds
        try:
            while not self.stopping and (left := deadline - time.monotonic()) > 0:
                woken = list(self._listener.notifies(timeout=min(left, SLICE_SECONDS)))
                if woken:
                    # Drain what else arrived meanwhile: one turn serves them all.
                    list(self._listener.notifies(timeout=0.01))
                    return
        except Exception as error:  # noqa: BLE001 - the database went away; poll until back
            log.warning("worker: lost the LISTEN connection (%s); reconnecting", error)
            self._listener.close()
            self._listener = None
            self.sleep(1.0)


def _listen(url):
    """An autocommit psycopg connection that LISTENs on the outbox channel, or None."""
    import psycopg

    try:
        connection = psycopg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=5,
        )
        connection.execute(f"LISTEN {CHANNEL}")
    except psycopg.Error as error:
        log.warning("worker: cannot LISTEN (%s); polling instead", error)
        return None
    return connection
