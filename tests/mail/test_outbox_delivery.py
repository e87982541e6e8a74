"""The confirmation e-mail through the outbox: real SMTP servers, `outbox send` and the batch.

Requests only commit outbox rows; delivery is done by `outbox work` (see test_worker.py and the
production tests) or, here, by `outbox send` and the delivery functions the worker calls.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event

from courses.extensions import db
from courses.mail import delivery, services
from courses.mail.worker import MailDelivery
from courses.participants.services import enrollment_by_token as find_by_token
from tests.factories import (
    FORM_URL,
    OPEN_NOW,
    VALID,
    counts,
    csrf_token,
    make_course,
    messages,
    submit,
)


@pytest.fixture(autouse=True)
def open_now(app):
    app.config["FIXED_NOW"] = OPEN_NOW


def use_smtp(app, port: int, timeout: float = 2.0) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=timeout)


def parts(message) -> tuple[str, str]:
    """(text, html) bodies of a parsed e-mail."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


class FakeWorker:
    """What a step needs from the worker: whether to stop, and a way to back off."""

    stopping = False

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_confirmation_goes_through_a_real_smtp_server_and_its_link_works(
    app, client, runner, smtp_server
):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, smtp_server.port)
    assert submit(client).status_code == 303
    with app.app_context():
        [row] = messages()
    assert row.attempts == 0 and smtp_server.messages == []  # the request sent nothing
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert (
        result.output.strip()
        == "outbox: 1 sent, 0 failed (queued for retry), 0 given up; 0 still queued"
    )
    [received] = smtp_server.messages
    with app.app_context():
        [row] = messages()
    assert row.sent_at == OPEN_NOW and row.attempts == 1 and row.last_error is None
    assert row.claimed_until is None
    assert received["Message-ID"].strip() == row.message_id
    assert received["To"] == "maria@example.org"
    assert received["Subject"] == ("Inscripción hecha: Ciclo de capacitaciones para Pesca y…")
    assert "no-reply@capacitacion.local" in received["From"]
    assert received["Auto-Submitted"] == "auto-generated"
    text, body_html = parts(received)
    assert "1. Primeros pasos para comercializar" in text
    assert "6. Barreras y oportunidades cuando se piensa exportar" in text
    assert text.index("Primeros pasos") < text.index("Inocuidad") < text.index("Barreras")
    assert "pulsa «He completado este módulo»" in text
    link = re.search(r"http://certificados\.test/my/([A-Za-z0-9_-]{27})\b", text)
    assert link, text
    assert f'href="{link.group(0)}"' in body_html
    assert "<img" not in body_html and "style=" not in body_html
    token = link.group(1)
    with app.app_context():
        assert find_by_token(token).email == "maria@example.org"
    page = client.get(urlsplit(link.group(0)).path)
    assert page.status_code == 200
    assert VALID["name"] in html.unescape(page.text)


def test_a_request_never_talks_to_the_mail_server_even_a_hung_one(app, client, hanging_port):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, hanging_port, timeout=30)
    data = {**VALID, "csrf_token": csrf_token(client)}
    response = client.post(FORM_URL, data=data)
    response.close()  # what the WSGI server does after sending the response: nothing more
    assert response.status_code == 303
    with app.app_context():
        [row] = messages()
        assert row.attempts == 0 and row.sent_at is None and row.last_error is None
        assert counts() == (1, 1)


def test_a_batch_goes_over_one_connection(app, client, runner, smtp_server):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, smtp_server.port)
    for number in range(5):
        submit(client, email=f"persona{number}@example.org")
    assert "5 sent" in runner.invoke(args=["outbox", "send"]).output
    assert len(smtp_server.messages) == 5
    assert len(smtp_server.sessions) == 1


def test_while_the_server_is_down_nothing_counts_against_the_messages(
    app, client, runner, dead_port, smtp_server
):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, dead_port)
    submit(client)
    submit(client, email="otra@example.org")
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 1  # the operator sees that nothing went out
    assert "mail server unavailable" in result.output and "2 not tried" in result.output
    with app.app_context():
        rows = messages()
    assert [(r.attempts, r.sent_at, r.claimed_until) for r in rows] == [(0, None, None)] * 2
    assert all("ConnectionRefused" in r.last_error for r in rows)
    # The worker's step backs off instead of retrying at once.
    worker = FakeWorker()
    with app.app_context():
        assert MailDelivery().run(worker) is False
    assert worker.slept == [2.0]
    # The server is back: everything goes out, once.
    use_smtp(app, smtp_server.port)
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "2 sent" in result.output
    assert len(smtp_server.messages) == 2
    assert runner.invoke(args=["outbox", "send"]).output.startswith("outbox: 0 sent")
    assert len(smtp_server.messages) == 2


def test_outbox_send_delivers_messages_waiting_for_their_retry_time(
    app, client, runner, busy_server, smtp_server
):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, busy_server.port)
    submit(client)
    result = runner.invoke(args=["outbox", "send"])
    assert "0 sent, 1 failed (queued for retry)" in result.output and result.exit_code == 0
    with app.app_context():
        [row] = messages()
    assert row.next_attempt_at == OPEN_NOW + timedelta(minutes=1) and "451" in row.last_error
    # The worker waits for the retry time...
    use_smtp(app, smtp_server.port)
    with app.app_context():
        assert MailDelivery().run(FakeWorker()) is False
    assert smtp_server.messages == []
    # ...but an operator who has just fixed the server sends the queue now.
    result = runner.invoke(args=["outbox", "send"])
    assert "1 sent" in result.output and "0 still queued" in result.output
    [received] = smtp_server.messages
    assert received["Message-ID"].strip() == row.message_id
    with app.app_context():
        [row] = messages()
    assert row.sent_at == OPEN_NOW and row.attempts == 2


def test_temporary_refusals_back_off_1_5_15_60_minutes(app, client, busy_server):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, busy_server.port)
    submit(client)
    now = OPEN_NOW
    waits = []
    for _ in range(4):
        app.config["FIXED_NOW"] = now
        with app.app_context():
            assert MailDelivery().run(FakeWorker()) is False
        with app.app_context():
            [row] = messages()
            assert row.claimed_until is None and row.sent_at is None
            waits.append(row.next_attempt_at - now)
            # Not due again before its time.
            assert delivery.claim(row.next_attempt_at - timedelta(seconds=1), 20) == []
            now = row.next_attempt_at
    assert waits == [timedelta(minutes=m) for m in (1, 5, 15, 60)]
    with app.app_context():
        assert messages()[0].attempts == 4


def test_the_sending_rate_is_kept_across_batches(app, client, smtp_server):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, smtp_server.port)
    app.config["MAIL_MAX_PER_MINUTE"] = 2
    for number in range(5):
        submit(client, email=f"persona{number}@example.org")
    step = MailDelivery()
    with app.app_context():  # the worker opens a context per turn
        step.run(FakeWorker())
    assert len(smtp_server.messages) == 2
    with app.app_context():
        assert step.run(FakeWorker()) is False  # the minute's budget is spent
    assert len(smtp_server.messages) == 2
    app.config["FIXED_NOW"] = OPEN_NOW + timedelta(seconds=61)
    with app.app_context():
        step.run(FakeWorker())
    assert len(smtp_server.messages) == 4


def test_a_claimed_message_is_left_alone_until_its_lease_passes(app, client, smtp_server):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, smtp_server.port)
    submit(client)
    with app.app_context():  # a sender took it, then died
        [held] = delivery.claim(OPEN_NOW, 20)
    with app.app_context():
        assert delivery.claim(OPEN_NOW, 20) == []
        assert services.backlog(OPEN_NOW).in_flight == 1
        [row] = messages()
    later = row.claimed_until
    with app.app_context():
        [again] = delivery.claim(later, 20)
        assert again.id == held.id and again.attempts == 2
        outcome = delivery.deliver([again], now=lambda: later)
    assert outcome.sent == 1 and len(smtp_server.messages) == 1
    # The dead sender's late record changes nothing.
    with app.app_context():
        delivery.deliver([held])
    with app.app_context():
        [row] = messages()
    assert row.sent_at == later


def test_a_rolled_back_request_sends_nothing(app, runner, smtp_server):
    with app.app_context():
        make_course()
        db.session.commit()
    use_smtp(app, smtp_server.port)
    with app.test_request_context("/", method="POST"):
        services.queue_email(
            kind="test",
            recipient="nadie@example.org",
            template="registration/mail_confirmation",
            language="es",
            now=OPEN_NOW,
            name="Nadie",
            course_title="Curso",
            edition_label="2023",
            modules=["Uno"],
            completion="self",
            pass_mark=70,
            complete_by=None,
            channel_url=None,
            waiting=False,
            link="http://certificados.test/my/x",
        )
        db.session.rollback()
    assert "0 sent" in runner.invoke(args=["outbox", "send"]).output
    assert smtp_server.messages == []
    with app.app_context():
        assert counts() == (0, 0)


def test_outbox_send_with_nothing_queued_says_so_and_exits_0(runner):
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0
    assert result.output.strip() == (
        "outbox: 0 sent, 0 failed (queued for retry), 0 given up; 0 still queued"
    )


def test_outbox_status_shows_the_backlog(app, client, runner, busy_server):
    with app.app_context():
        make_course()
        db.session.commit()
    submit(client)
    submit(client, email="otra@example.org")
    use_smtp(app, busy_server.port)
    with app.app_context():
        [first, _second] = messages()
        delivery.deliver(delivery.claim(OPEN_NOW, 1))  # one waits for a retry now
    app.config["FIXED_NOW"] = OPEN_NOW + timedelta(seconds=30)
    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 0
    assert result.output.strip() == (
        "outbox: 1 due, 1 waiting for a retry, 0 being sent, 0 given up; "
        "oldest due message waiting 30 s"
    )


def test_after_a_full_batch_the_next_turn_claims_without_asking_first(
    app, client, smtp_server, monkeypatch
):
    """Idle turns only read (no write lock); during a burst, the full batch says more is due."""
    with app.app_context():
        make_course()
        db.session.commit()
        engine = db.engine
    use_smtp(app, smtp_server.port)
    monkeypatch.setattr(delivery, "BATCH", 2)
    for number in range(3):
        submit(client, email=f"persona{number}@example.org")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.lower())

    def asked_and_claimed() -> tuple[bool, bool]:
        asked = any("min(outbox_message.next_attempt_at)" in s for s in statements)
        claimed = any(s.startswith("update outbox_message set attempts") for s in statements)
        statements.clear()
        return asked, claimed

    event.listen(engine, "before_cursor_execute", seen)
    try:
        step = MailDelivery()
        with app.app_context():
            assert step.run(FakeWorker()) is True  # a full batch of 2
        assert asked_and_claimed() == (True, True)
        with app.app_context():
            assert step.run(FakeWorker()) is False  # the last one, claimed straight away
        assert asked_and_claimed() == (False, True)
        with app.app_context():
            assert step.run(FakeWorker()) is False  # nothing due: asked, nothing claimed
        assert asked_and_claimed() == (True, False)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(smtp_server.messages) == 3
