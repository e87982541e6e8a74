"""`/my/lost`: the same answer for everyone; registered addresses get their same links."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from courses import create_app
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.registration.tokens import personal_link
from tests.factories import NOW, enroll, make_course
from tests.factories import csrf_in as csrf_token


def _ask(client, email: str):
    page = client.get("/my/lost")
    return client.post("/my/lost", data={"csrf_token": csrf_token(page.text), "email": email})


def test_lost_link_resends_the_same_links_in_one_mail(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        first = make_course(slug="pesca-acuicultura")
        second = make_course(slug="otro-curso")
        _a, token_a = enroll(first, email="Nandu@Example.org")
        _b, token_b = enroll(second, email="nandu@example.org", waiting=True)
        enroll(first, email="someone.else@example.org")

    response = _ask(client, "NANDU@example.org")
    assert response.status_code == 303
    with app.app_context():
        mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "lost-link"))
        mail = mails.one()
        assert mail.recipient.lower() == "nandu@example.org"
        assert personal_link(token_a) in mail.body_text
        assert personal_link(token_b) in mail.body_text
        assert "lista de espera" in mail.body_text
        assert "someone.else" not in mail.body_text
        assert f'href="{personal_link(token_a)}"' in mail.body_html


def test_lost_link_answers_the_same_whether_or_not_registered(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        enroll(make_course(), email="nandu@example.org")

    known = _ask(client, "nandu@example.org")
    known_page = client.get(known.headers["Location"])
    unknown = _ask(client, "nobody@example.org")
    unknown_page = client.get(unknown.headers["Location"])
    assert (known.status_code, unknown.status_code) == (303, 303)
    assert known.headers["Location"] == unknown.headers["Location"]
    strip = lambda html: html.replace(csrf_token(html), "")  # noqa: E731
    assert strip(known_page.text) == strip(unknown_page.text)
    assert "Si ese correo o ese teléfono está inscrito" in unknown_page.text
    count = select(func.count()).select_from(OutboxMessage)
    with app.app_context():
        assert db.session.scalar(count) == 1


def test_lost_link_with_a_malformed_address_is_refused_next_to_the_field(app, client):
    response = _ask(client, "not-an-address")
    assert response.status_code == 400
    assert 'aria-describedby="email-error"' in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.fixture
def limited_client(database_url):
    app = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True}
    )
    with app.app_context():
        db.create_all()
    yield app.test_client()
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_lost_link_is_rate_limited_per_address(limited_client):
    for _ in range(3):
        assert _ask(limited_client, "nandu@example.org").status_code == 303
    assert _ask(limited_client, "NANDU@example.org").status_code == 429
    # Another address from the same client is still served.
    assert _ask(limited_client, "other@example.org").status_code == 303


def test_verification_is_rate_limited_per_client(limited_client):
    statuses = [limited_client.get("/verify").status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
