"""Mail that can never be delivered is given up, so it neither retries forever nor keeps the
health check degraded; a server that is merely down keeps being retried up to the limit."""

from __future__ import annotations

import pytest
from registration_helpers import OPEN_NOW, make_edition, messages, submit

from courses.mail import services


@pytest.fixture(autouse=True)
def open_now(app):
    app.config["FIXED_NOW"] = OPEN_NOW


def test_a_recipient_refused_for_good_is_given_up_after_one_attempt(
    app, client, runner, refusing_server
):
    make_edition()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=refusing_server.port)
    assert submit(client).status_code == 303  # the registration itself is fine
    [row] = messages()
    assert row.sent_at is None and row.failed_at == OPEN_NOW and row.attempts == 1
    assert "550" in row.last_error
    # Not retried, not counted as backlog, not holding the health check down.
    app.config["FIXED_NOW"] = OPEN_NOW.replace(year=OPEN_NOW.year + 1)
    assert "0 sent, 0 failed" in runner.invoke(args=["outbox", "send"]).output
    assert services.pending_count() == 0
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["outbox"]["backlog"] == 0
    page = client.get(f"/dev/mailbox/{row.id}")
    assert "no se pudo entregar" in page.text


def test_a_server_that_stays_down_is_retried_until_the_limit_then_given_up(
    app, client, runner, dead_port
):
    make_edition()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=dead_port)
    submit(client)
    for _ in range(services.MAX_ATTEMPTS - 1):
        [row] = messages()
        assert row.failed_at is None  # a refused connection is not a refusal of the message
        app.config["FIXED_NOW"] = row.next_attempt_at
        runner.invoke(args=["outbox", "send"])
    [row] = messages()
    assert row.attempts == services.MAX_ATTEMPTS
    assert row.failed_at is not None and row.sent_at is None
    assert services.due_message_ids(row.next_attempt_at) == []
