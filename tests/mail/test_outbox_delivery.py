"""The confirmation e-mail through the outbox: real SMTP, a server down or hung, `outbox send`."""

from __future__ import annotations

import html
import http.client
import re
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Response
from registration_helpers import (
    FORM_URL,
    OPEN_NOW,
    VALID,
    counts,
    csrf_token,
    make_edition,
    messages,
    submit,
)
from werkzeug.serving import make_server

from courses import create_app
from courses.extensions import db
from courses.mail import services
from courses.mail.models import OutboxMessage
from courses.participants.services import enrollment_by_token as find_by_token


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


def test_confirmation_goes_through_a_real_smtp_server_and_its_link_works(app, client, smtp_server):
    make_edition()
    use_smtp(app, smtp_server.port)
    assert submit(client).status_code == 303
    [received] = smtp_server.messages
    [row] = messages()
    assert row.sent_at == OPEN_NOW and row.attempts == 1 and row.last_error is None
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
    assert find_by_token(token).email == "maria@example.org"
    page = client.get(urlsplit(link.group(0)).path)
    assert page.status_code == 200
    assert VALID["name"] in html.unescape(page.text)


def test_registration_succeeds_while_the_mail_server_is_down_and_outbox_send_delivers_later(
    app, client, runner, dead_port, smtp_server
):
    make_edition()
    use_smtp(app, dead_port)
    started = time.monotonic()
    assert submit(client).status_code == 303
    assert time.monotonic() - started < 5  # refused connections fail at once
    [row] = messages()
    assert counts() == (1, 1)
    assert row.sent_at is None and row.attempts == 1
    assert "ConnectionRefused" in row.last_error
    assert row.next_attempt_at == OPEN_NOW + timedelta(minutes=1)
    queued_id = row.message_id

    # Before the retry time nothing is due.
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0
    assert "0 sent" in result.output and "1 still queued" in result.output

    # The server is back; a minute later `outbox send` delivers it, once.
    use_smtp(app, smtp_server.port)
    app.config["FIXED_NOW"] = OPEN_NOW + timedelta(minutes=2)
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output and "0 still queued" in result.output
    [received] = smtp_server.messages
    assert received["Message-ID"].strip() == queued_id
    [row] = messages()
    assert row.sent_at == OPEN_NOW + timedelta(minutes=2) and row.attempts == 2
    assert runner.invoke(args=["outbox", "send"]).output.startswith("outbox: 0 sent")
    assert len(smtp_server.messages) == 1


def test_the_response_is_complete_before_delivery_to_a_hung_server_is_tried(
    app, client, hanging_port
):
    make_edition()
    use_smtp(app, hanging_port, timeout=1.0)
    data = {**VALID, "csrf_token": csrf_token(client)}
    response = client.post(FORM_URL, data=data)
    # The whole response exists and nothing has been tried yet: delivery waits for close().
    assert response.status_code == 303
    [row] = messages()
    assert row.attempts == 0 and row.sent_at is None
    started = time.monotonic()
    response.close()  # what the WSGI server does after sending the response
    assert time.monotonic() - started >= 0.9  # it really waited for the hung server...
    [row] = messages()
    assert row.attempts == 1 and row.sent_at is None  # ...and gave up, keeping it queued
    assert "timed out" in row.last_error.lower()
    assert counts() == (1, 1)


def post_form(port: int, fields: dict) -> tuple[int, float]:
    """POST the form over real HTTP; (status, seconds until the whole answer was read)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    connection.request(
        "POST",
        FORM_URL,
        body=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = connection.getresponse()
    answer.read()
    elapsed = time.monotonic() - started
    connection.close()
    return answer.status, elapsed


def test_real_http_clients_get_their_pages_while_the_hung_mail_server_is_waited_for(
    tmp_path, hanging_port
):
    timeout = 3.0
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite3'}",
            "WTF_CSRF_ENABLED": False,
            "FIXED_NOW": OPEN_NOW,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": hanging_port,
            "MAIL_TIMEOUT": timeout,
        },
    )
    with app.app_context():
        db.create_all()
        make_edition()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        first = post_form(server.server_port, VALID)
        # The first delivery is now waiting for the hung server; it holds no database lock,
        # so the next registration (a write) goes through at once.
        second = post_form(server.server_port, {**VALID, "email": "otra@example.org"})
        with app.app_context():
            for _ in range(100):  # wait for both attempts to give up
                rows = db.session.scalars(db.select(OutboxMessage)).all()
                if len(rows) == 2 and all(r.last_error for r in rows):
                    break
                db.session.rollback()
                time.sleep(0.1)
            assert [(r.attempts, r.sent_at) for r in rows] == [(1, None), (1, None)]
            assert all("timed out" in r.last_error for r in rows)
            db.session.remove()
            db.engine.dispose()
    finally:
        server.shutdown()
        thread.join()
    assert first[0] == second[0] == 303
    assert first[1] < timeout and second[1] < timeout


def test_failures_back_off_1_5_15_60_minutes(app, client, runner, dead_port):
    make_edition()
    use_smtp(app, dead_port)
    submit(client)
    now = OPEN_NOW
    waits = []
    for _ in range(4):
        [row] = messages()
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
        app.config["FIXED_NOW"] = now
        result = runner.invoke(args=["outbox", "send"])
        assert "0 sent, 1 failed" in result.output and result.exit_code == 0
    assert waits == [timedelta(minutes=m) for m in (1, 5, 15, 60)]
    assert messages()[0].attempts == 5


def test_a_rolled_back_request_sends_nothing(app, smtp_server):
    make_edition()
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
        response = services.deliver_after_response(Response("ok"))
        response.close()
    assert smtp_server.messages == []
    assert counts() == (0, 0)


def test_outbox_send_with_nothing_queued_says_so_and_exits_0(runner):
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0
    assert result.output.strip() == (
        "outbox: 0 sent, 0 failed (queued for retry), 0 skipped; 0 still queued"
    )
