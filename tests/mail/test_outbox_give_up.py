"""Mail that can never be delivered is given up, so it neither retries forever nor keeps the
health check degraded; a message the server only postpones is retried up to the limit."""

from __future__ import annotations

import pytest

from courses.extensions import db
from courses.mail import delivery, services
from tests.factories import OPEN_NOW, make_course, messages, submit


@pytest.fixture(autouse=True)
def open_now(app):
    app.config["FIXED_NOW"] = OPEN_NOW


def test_a_recipient_refused_for_good_is_given_up_after_one_attempt(
    app, client, runner, refusing_server
):
    with app.app_context():
        make_course()
        db.session.commit()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=refusing_server.port)
    assert submit(client).status_code == 303  # the registration itself is fine
    assert "1 given up" in runner.invoke(args=["outbox", "send"]).output
    with app.app_context():
        [row] = messages()
    assert row.sent_at is None and row.failed_at == OPEN_NOW and row.attempts == 1
    assert "550" in row.last_error
    # Not retried, not counted as backlog, not holding the health check down.
    app.config["FIXED_NOW"] = OPEN_NOW.replace(year=OPEN_NOW.year + 1)
    assert "0 sent, 0 failed" in runner.invoke(args=["outbox", "send"]).output
    with app.app_context():
        assert services.pending_count() == 0
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["outbox"]["backlog"] == 0
    page = client.get(f"/dev/mailbox/{row.id}")
    assert "no se pudo entregar" in page.text


def test_a_message_postponed_again_and_again_is_given_up_at_the_limit(app, client, busy_server):
    with app.app_context():
        make_course()
        db.session.commit()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=busy_server.port)
    submit(client)
    now = OPEN_NOW
    for _ in range(delivery.MAX_ATTEMPTS):
        # Each attempt in a context of its own, as the worker makes one per turn.
        with app.app_context():
            [row] = messages()
            assert row.failed_at is None  # "try again later" is not a refusal of the message
            delivery.deliver(delivery.claim(now, 20), now=lambda at=now: at)
            [row] = messages()
            now = row.next_attempt_at
    assert row.attempts == delivery.MAX_ATTEMPTS
    assert row.failed_at is not None and row.sent_at is None
    with app.app_context():
        assert delivery.claim(now, 20) == []
