"""Messages rendered ahead of their transaction and queued in bulk (`queue_prepared`, for the
reminders job): the very rows `queue_email` writes, one wake-up for them all, and never a
capped kind, whose daily cap is counted one message at a time."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text

from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.mail.services import prepare_email, queue_email, queue_prepared
from tests.factories import OPEN_NOW


def rendered() -> tuple[str, str, str | None]:
    return ("Asunto " + "x" * 400, "Cuerpo\n", None)  # a subject too long for the column


def raw_rows() -> list[dict]:
    # As stored: JSON and instants before the column types read them back.
    query = text(
        "SELECT kind, recipient, recipient_key, subject, body_text, body_html, enrollment_id, "
        "CAST(headers AS TEXT) AS headers, created_at, attempts, next_attempt_at, sent_at, "
        "claimed_until, last_error, failed_at FROM outbox_message ORDER BY id"
    )
    return [dict(row) for row in db.session.execute(query).mappings()]


@pytest.mark.parametrize("headers", [None, {"List-Unsubscribe": "<https://x.test/stop>"}])
def test_a_prepared_message_is_queued_as_queue_email_queues_it(app, headers):
    with app.app_context():
        queue_email(
            kind="reminder-nudge",
            recipient="MARIA@Example.org",
            template="unused",
            language="es",
            now=OPEN_NOW,
            headers=headers,
            rendered=rendered(),
        )
        message = prepare_email(
            kind="reminder-nudge",
            recipient="MARIA@Example.org",
            rendered=rendered(),
            headers=headers,
        )
        assert queue_prepared([message], OPEN_NOW) == 1
        db.session.commit()
        one, other = raw_rows()
        ids = list(db.session.scalars(select(OutboxMessage.message_id)))
    assert one == other
    assert len(one["subject"]) == 300 and one["recipient_key"] == "maria@example.org"
    assert len(set(ids)) == 2


def test_capped_kinds_are_never_queued_in_bulk(app):
    with app.app_context():
        message = prepare_email(kind="lost-link", recipient="a@example.org", rendered=rendered())
        with pytest.raises(ValueError):
            queue_prepared([message], OPEN_NOW)
        assert raw_rows() == []


def test_a_thousand_prepared_messages_wake_the_workers_once(app):
    statements: list[str] = []
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("NOTIFY is PostgreSQL's; SQLite workers poll")
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        messages = [
            prepare_email(kind="reminder-nudge", recipient=f"p{n}@example.org", rendered=rendered())
            for n in range(1001)
        ]
        assert queue_prepared(messages, OPEN_NOW) == 1001
        db.session.commit()
    assert [s for s in statements if s.startswith("NOTIFY")] == ["NOTIFY courses_outbox"]
