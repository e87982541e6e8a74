"""The worker's mail step: deliver what is due, a batch per turn, within the sending rate."""

from __future__ import annotations

from courses import clock, database
from courses.extensions import db
from courses.mail import delivery

#: Longest pause between attempts at an unreachable mail server (seconds).
MAX_SERVER_BACKOFF = 60.0


class MailDelivery:
    """Claims due messages and sends them over one connection per batch."""

    name = "mail"

    def __init__(self) -> None:
        #: Consecutive batches the mail server could not take; the worker backs off.
        self.server_failures = 0
        #: Whether the last batch was full: then more is due, and the claim itself finds out.
        self.full = False

    def run(self, worker) -> bool:
        now = clock.now()
        # A read that takes no lock (SQLite: plain BEGIN): most polls find nothing due, and
        # a claim would take the write lock to find that out. After a full batch (a burst of
        # registrations) the read is skipped: the claim finds what is due, or nothing.
        with database.read_only():
            due = now if self.full else delivery.next_due(now)
            budget = delivery.rate_budget(now) if due is not None and due <= now else None
            db.session.rollback()
        self.full = False
        if due is None or due > now or budget == 0:
            return False
        limit = delivery.BATCH if budget is None else min(delivery.BATCH, budget)
        claimed = delivery.claim(now, limit)
        outcome = delivery.deliver(claimed, stopping=lambda: worker.stopping)
        if outcome.server_error:
            self.server_failures += 1
            worker.sleep(min(MAX_SERVER_BACKOFF, 2.0**self.server_failures))
            return False
        self.server_failures = 0
        self.full = len(claimed) == limit
        return self.full
