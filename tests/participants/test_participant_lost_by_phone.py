"""`/my/lost` by phone: any national format; links go to the address on file; same answer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.registration.tokens import personal_link
from tests.factories import NOW, enroll, make_course
from tests.factories import csrf_in as csrf_token

CONTACT = {
    "country": "CL",
    "name": {"es": "Mesa de ayuda Chile"},
    "email": "ayuda.cl@example.org",
    "whatsapp": "+56912345670",
}


def _enroll(edition, **kwargs):
    """An enrollment whose phone is +56 9 6123 4567 (a valid Chilean mobile)."""
    return enroll(edition, phone="+56961234567", **kwargs)


def _ask(client, **data):
    page = client.get("/my/lost")
    return client.post("/my/lost", data={"csrf_token": csrf_token(page.text), **data})


def _lost_mails() -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind == "lost-link")
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


@pytest.mark.parametrize("typed", ["9 6123 4567", "961234567", "+56 9 6123 4567", "(9) 6123-4567"])
def test_a_phone_in_any_national_format_sends_the_link_to_the_address_on_file(app, client, typed):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        _enrollment, token = _enroll(make_course(), email="nandu@example.org")
    response = _ask(client, phone=typed, country="CL")
    assert response.status_code == 303
    with app.app_context():
        [mail] = _lost_mails()
        assert mail.recipient == "nandu@example.org"
        assert personal_link(token) in mail.body_text
    page = client.get(response.headers["Location"]).text
    assert "nandu@example.org" not in page and token not in page


def test_the_answer_is_the_same_whether_or_not_the_phone_matched(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        edition.course.contacts = [CONTACT]
        db.session.commit()
        _enroll(edition)
    strip = lambda html: html.replace(csrf_token(html), "")  # noqa: E731
    known = _ask(client, phone="961234567", country="CL")
    known_page = strip(client.get(known.headers["Location"]).text)
    unknown = _ask(client, phone="987654321", country="CL")
    unknown_page = strip(client.get(unknown.headers["Location"]).text)
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    pages = [known_page, unknown_page]
    assert pages[0] == pages[1]
    assert "Mesa de ayuda Chile" in pages[0] and 'href="https://wa.me/56912345670"' in pages[0]
    with app.app_context():
        assert len(_lost_mails()) == 1


def test_the_lost_link_mail_names_the_contact_of_the_participants_country(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        edition.course.contacts = [CONTACT, {**CONTACT, "country": "PE", "name": {"es": "Perú"}}]
        db.session.commit()
        enroll(edition)
    _ask(client, email="nandu@example.org")
    with app.app_context():
        [mail] = _lost_mails()
    assert "Mesa de ayuda Chile" in mail.body_text and "https://wa.me/56912345670" in mail.body_text
    assert "Perú ·" not in mail.body_text


@pytest.mark.parametrize(
    ("data", "field"),
    [({}, "email"), ({"phone": "12"}, "phone"), ({"phone": "961234567"}, "phone")],
)
def test_neither_address_nor_valid_phone_is_refused_and_sends_nothing(app, client, data, field):
    response = _ask(client, **data)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
