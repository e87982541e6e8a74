"""A receiver that dribbles its answer holds an attempt until `delivery.DEADLINE`, never the
sender: real receivers on 127.0.0.1, the sender on a thread of its own as in the worker, and a
generous join that tells a hang from an answer (it measures nothing).

The database is PostgreSQL when the suite runs on it, else a SQLite file (the sender thread
needs a connection of its own).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import datetime

from flask import Flask
from sqlalchemy import select

from courses.api import delivery, webhooks
from courses.api.delivery import BACKOFF, deliver_due_webhooks
from courses.api.models import WebhookDelivery
from courses.extensions import db
from tests.api.webhook_receiver import receiver, slow_receiver
from tests.factories import OPEN_NOW, make_course, submit

SECRET = "s3cret-shared-with-the-partner"


def _register(app: Flask, *urls: str) -> list[int]:
    """The reference course and one webhook per URL, in this order; their ids."""
    with app.app_context():
        make_course()
        ids = [
            webhooks.register_webhook(
                url, SECRET, list(webhooks.EVENTS), created_by=None, now=OPEN_NOW
            ).id
            for url in urls
        ]
        db.session.commit()
        return ids


def _deliver_in_thread(app: Flask, now: datetime) -> dict[str, int]:
    """`deliver_due_webhooks(now)` on a thread, as the worker's sender runs it; its counts."""
    counts: dict[str, int] = {}

    def send() -> None:
        with app.app_context():
            try:
                counts.update(deliver_due_webhooks(now))
            finally:
                db.session.remove()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    thread.join(timeout=60)  # far longer than any deadline here: only a hang gets this far
    assert not thread.is_alive(), "the sender is still waiting for the receiver"
    return counts


def _by_hook(app: Flask) -> dict[int, WebhookDelivery]:
    with app.app_context():
        rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        db.session.expunge_all()
        return {row.webhook_id: row for row in rows}


def test_a_receiver_that_dribbles_its_headers_fails_at_the_deadline_and_others_still_get_theirs(
    shared_app, monkeypatch
):
    monkeypatch.setattr(delivery, "DEADLINE", 1.5)
    head = b"HTTP/1.1 200 OK\r\nX-Slow: "

    def answer() -> Iterator[bytes]:
        # The status line and a header, a byte every half second, never ending: each read
        # gets a byte long before its timeout, so only a deadline for the whole attempt ends it.
        yield from (head[i : i + 1] for i in range(len(head)))
        yield from itertools.repeat(b"a")

    with slow_receiver(answer, interval=0.5) as slow, receiver() as healthy:
        slow_id, healthy_id = _register(shared_app, slow.url, healthy.url)
        assert submit(shared_app.test_client()).status_code == 303
        rows = _by_hook(shared_app)
        assert rows[slow_id].id < rows[healthy_id].id  # the slow receiver's is tried first

        counts = _deliver_in_thread(shared_app, OPEN_NOW)
        assert slow.hung_up.wait(timeout=30)  # the sender closed the connection

    assert counts == {"delivered": 1, "failed": 1, "given_up": 0}
    assert slow.requests == 1 and len(healthy.requests) == 1
    rows = _by_hook(shared_app)
    failed = rows[slow_id]
    assert failed.attempts == 1 and failed.delivered_at is None and failed.failed_at is None
    assert failed.last_status is None
    assert failed.last_error == "the receiver did not answer within 1.5 s"
    assert failed.next_attempt_at == OPEN_NOW + BACKOFF[0]  # retried with the usual backoff
    # What the admin's page shows of it names neither the secret nor the person.
    assert SECRET not in failed.last_error and "maria" not in failed.last_error
    assert rows[healthy_id].delivered_at == OPEN_NOW


def test_a_huge_answer_streamed_slowly_is_not_read(shared_app):
    size = 1 << 30  # a gigabyte announced

    def answer() -> Iterator[bytes]:
        yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        yield b"Content-Length: %d\r\n\r\n" % size
        yield from itertools.repeat(b"x" * 16)  # 160 bytes a second, never ending

    with slow_receiver(answer, interval=0.1) as slow:
        (hook_id,) = _register(shared_app, slow.url)
        submit(shared_app.test_client())
        counts = _deliver_in_thread(shared_app, OPEN_NOW)
        assert slow.hung_up.wait(timeout=30)  # the sender closed the connection

    assert counts == {"delivered": 1, "failed": 0, "given_up": 0}  # the status is the answer
    assert slow.sent < size
    row = _by_hook(shared_app)[hook_id]
    assert row.last_status == 200 and row.delivered_at == OPEN_NOW


def test_a_redirect_is_not_followed(shared_app):
    with receiver() as elsewhere:

        def answer() -> Iterator[bytes]:
            yield (
                f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere.url}\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()

        with slow_receiver(answer, interval=0) as redirecting:
            (hook_id,) = _register(shared_app, redirecting.url)
            submit(shared_app.test_client())
            counts = _deliver_in_thread(shared_app, OPEN_NOW)

    assert counts == {"delivered": 0, "failed": 1, "given_up": 0}
    assert elsewhere.requests == []
    row = _by_hook(shared_app)[hook_id]
    assert row.last_status == 307 and row.last_error == "HTTP error"
