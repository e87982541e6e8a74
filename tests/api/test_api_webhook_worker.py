"""A slow webhook receiver never holds up mail: the real worker loop, a real HTTP receiver that
keeps its answer back, a real SMTP server.

The database is PostgreSQL when the suite runs on it, else a SQLite file (the worker, its
webhook sender and the web requests each use a connection of their own).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from courses.api import delivery, webhooks
from courses.api.models import WebhookDelivery
from courses.extensions import db
from courses.worker.loop import Worker
from courses.worker.steps import steps
from tests.api.webhook_receiver import receiver
from tests.factories import OPEN_NOW, make_course, submit


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Return once `condition()` holds; fail after a generous minute (a deadline, not a
    measurement: each of these takes a fraction of a second when the code is right)."""
    for _ in range(600):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _attempts(app: Flask) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(select(WebhookDelivery.attempts).order_by(WebhookDelivery.id))
        )


def test_mail_goes_out_while_a_webhook_receiver_keeps_its_answer_back(
    shared_app, smtp_server, monkeypatch
):
    # The worker would wait this long for the receiver before giving up on it: far longer than
    # the test waits for the mail, so only a worker that does not wait for it can pass.
    monkeypatch.setattr(delivery, "TIMEOUT", 120)
    monkeypatch.setattr(delivery, "DEADLINE", 120)
    shared_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    release = threading.Event()
    with receiver(release=release) as partner:
        with shared_app.app_context():
            make_course()
            webhooks.register_webhook(
                partner.url,
                "s3cret-shared-with-the-partner",
                list(webhooks.EVENTS),
                created_by=None,
                now=OPEN_NOW,
            )
            db.session.commit()
        client = shared_app.test_client()
        worker = Worker(shared_app, steps(), idle_seconds=0.2)
        running = threading.Thread(target=worker.run)
        running.start()
        try:
            submit(client)
            _wait_for(lambda: len(partner.requests) == 1, "the first webhook reached the receiver")
            # The receiver holds that request; a second registration's mail is due now.
            submit(client, email="otra@example.org", name="Otra Persona Distinta")
            _wait_for(lambda: len(smtp_server.messages) == 2, "the second confirmation was sent")
            assert {m["To"] for m in smtp_server.messages} == {
                "maria@example.org",
                "otra@example.org",
            }
            assert not release.is_set() and len(partner.requests) == 1
            assert _attempts(shared_app) == [0, 0]  # the first still in hand, not given up
        finally:
            release.set()
        _wait_for(lambda: _attempts(shared_app) == [1, 1], "both webhooks were answered")
        worker.stop()
        running.join(timeout=60)
        assert not running.is_alive()
    with shared_app.app_context():
        rows = db.session.scalars(select(WebhookDelivery)).all()
        assert all(row.delivered_at is not None for row in rows)
    assert len(smtp_server.messages) == 2 and len(partner.requests) == 2
