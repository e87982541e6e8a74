"""The worker's webhook step: send the deliveries that are due, on a thread of its own.

A receiver may take up to `delivery.DEADLINE` seconds (10) to accept the connection and answer,
and a host name may take a while to resolve. Sent from the worker's loop, that time would be
taken from the mail step that runs in the same turn. So the step only asks its sender thread
to look for due deliveries and returns at once: however slow or hung a receiver is, mail goes
out as if no webhook existed, and only the other deliveries wait (each at most that deadline).
"""

from __future__ import annotations

import logging
import threading

from courses import clock
from courses.api.delivery import DEADLINE, deliver_due_webhooks
from courses.extensions import db

log = logging.getLogger(__name__)

#: Deliveries claimed per look; the sender looks again at once while a look finds a full batch.
BATCH = 5
#: How long a stopping worker waits for the delivery in hand (its attempt ends by its deadline).
#: One left unfinished is sent again once its claim expires; receivers drop repeats by its id.
STOP_WAIT_SECONDS = DEADLINE


class WebhookDeliveries:
    name = "webhooks"

    def __init__(self) -> None:
        self._due = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, worker) -> bool:
        """Ask the sender thread to look for due deliveries; never waits for it."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._serve, args=(worker,), name="webhooks", daemon=True
            )
            self._thread.start()
        self._due.set()
        return False  # the sender keeps going by itself while it finds full batches

    def close(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Finish what `run` asked for (unless the worker is stopping), then end the thread."""
        if self._thread is None:
            return
        self._closing.set()
        self._due.set()
        self._thread.join(timeout)
        self._thread = None

    def _serve(self, worker) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            if not worker.stopping:
                self._send_due(worker)
            if self._closing.is_set():
                return

    def _send_due(self, worker) -> None:
        stopping = lambda: worker.stopping  # noqa: E731 - read at each delivery
        while not worker.stopping:
            with worker.app.app_context():
                try:
                    counts = deliver_due_webhooks(clock.now(), BATCH, stopping=stopping)
                except Exception:
                    # A database hiccup: the next turn asks again, as the loop does for a step.
                    log.exception("worker: step webhooks failed")
                    db.session.rollback()
                    return
                finally:
                    db.session.remove()
            if sum(counts.values()) < BATCH:
                return
