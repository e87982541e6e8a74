"""The development mailbox: lists what was "sent", shows it with clickable links, never in prod."""

from __future__ import annotations

import re

import pytest

from courses import create_app
from courses.extensions import db
from courses.mail import transport
from tests.factories import OPEN_NOW, make_course, messages, submit


@pytest.fixture(autouse=True)
def open_now(app):
    app.config["FIXED_NOW"] = OPEN_NOW


def test_without_mail_server_mail_is_delivered_to_the_mailbox(app, client, runner):
    with app.app_context():
        make_course()
        db.session.commit()
    submit(client)
    submit(client, email="segunda@example.org", name="Segunda Persona")
    assert "2 sent" in runner.invoke(args=["outbox", "send"]).output
    with app.app_context():
        first, second = messages()
    assert first.sent_at == OPEN_NOW and first.attempts == 1
    page = client.get("/dev/mailbox")
    assert page.status_code == 200
    # Newest first.
    assert page.text.index("segunda@example.org") < page.text.index("maria@example.org")
    shown = client.get(f"/dev/mailbox/{first.id}")
    assert shown.status_code == 200
    link = re.search(r'<a href="(http://certificados\.test/my/[A-Za-z0-9_-]+)">\1</a>', shown.text)
    assert link, "the personal link is clickable"
    # The HTML part is shown as escaped source, never rendered.
    assert "&lt;ol&gt;" in shown.text and "<ol>" not in shown.text
    assert "style=" not in shown.text and "<script" not in shown.text


def test_mailbox_text_is_escaped(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    submit(client, name="Ana <b>Negrita</b>")
    with app.app_context():
        [message] = messages()
    shown = client.get(f"/dev/mailbox/{message.id}").text
    assert "Ana &lt;b&gt;Negrita&lt;/b&gt;" in shown


def test_unknown_message_is_404(client):
    assert client.get("/dev/mailbox/999").status_code == 404


def test_mailbox_is_404_when_disabled(app, client):
    app.config["MAILBOX_ENABLED"] = False
    assert client.get("/dev/mailbox").status_code == 404
    assert client.get("/dev/mailbox/1").status_code == 404


def test_mailbox_is_404_in_production_even_if_enabled(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-real-production-secret-key-0123456789")
    app = create_app(
        "production", {"MAILBOX_ENABLED": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    assert app.config["MAILBOX_ENABLED"] is False
    app.config["MAILBOX_ENABLED"] = True  # even switched on by hand, production never serves it
    client = app.test_client()
    assert client.get("/dev/mailbox").status_code == 404
    with app.app_context():
        assert not transport.mailbox_enabled()
        with pytest.raises(transport.DeliveryUnavailable):
            transport.method()
