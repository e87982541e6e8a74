"""Duplicates, seats and the waiting list, oversize bodies and CSRF."""

from __future__ import annotations

import pytest

from courses.catalog.models import Edition
from courses.extensions import db
from courses.participants.services import enrollment_by_token
from courses.registration import services
from courses.registration.tokens import hash_token
from tests.factories import (
    DONE_URL,
    FORM_URL,
    OPEN_NOW,
    VALID,
    counts,
    enrollments,
    link_in,
    make_course,
    messages,
    submit,
)


@pytest.fixture(autouse=True)
def open_now(app):
    app.config["FIXED_NOW"] = OPEN_NOW


def person(n: int) -> dict:
    return {"email": f"persona{n}@example.org", "name": f"Persona Número {n}"}


def test_same_email_in_other_case_makes_no_second_row_and_resends_the_same_link(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    assert submit(client).status_code == 303
    with app.app_context():
        first_link = link_in(messages()[0].body_text)
    response = submit(
        client, email="MARIA@Example.ORG", name="Otra Persona", phone="+51 912 345 678"
    )
    assert response.status_code == 303
    page = client.get(DONE_URL).text
    assert "ya está inscrito" in page
    # Nothing about the first registration is shown.
    for private in (VALID["name"], "961234567", VALID["organization"], "maria@"):
        assert private not in page
    with app.app_context():
        [enrollment] = enrollments()
    assert enrollment.name == VALID["name"] and enrollment.phone == "+56961234567"
    with app.app_context():
        confirmation, resend = messages()
    assert resend.kind == "already-registered"
    assert resend.recipient == enrollment.email
    assert link_in(resend.body_text) == first_link
    assert first_link in resend.body_html
    token = first_link.rsplit("/", 1)[1]
    assert enrollment.token_hash == hash_token(token)
    with app.app_context():
        assert enrollment_by_token(token).id == enrollment.id


def test_duplicate_message_page_is_the_same_for_everyone(client, app):
    with app.app_context():
        make_course()
        db.session.commit()
    submit(client)
    other = app.test_client()  # a different visitor, with no session of the first one
    assert submit(other, email="maria@example.org").status_code == 303
    first = other.get(DONE_URL).text
    assert "ya está inscrito" in first
    assert "María" not in first


def test_unlimited_capacity_registers_everyone_without_seats(app, client):
    with app.app_context():
        make_course(capacity=0)
        db.session.commit()
    for n in range(3):
        assert submit(client, **person(n)).status_code == 303
    with app.app_context():
        assert [(e.status, e.seat) for e in enrollments()] == [("registered", None)] * 3


def test_when_capacity_is_reached_people_go_to_the_waiting_list_page_and_mail_say_so(app, client):
    with app.app_context():
        make_course(capacity=2)
        db.session.commit()
    for n in range(2):
        assert submit(client, **person(n)).status_code == 303
    assert submit(client, **person(2)).status_code == 303
    page = client.get(DONE_URL).text
    assert "lista de espera" in page
    with app.app_context():
        assert [(e.status, e.seat) for e in enrollments()] == [
            ("registered", 1),
            ("registered", 2),
            ("waiting", None),
        ]
        waiting_mail = messages()[-1]
    assert waiting_mail.kind == "waiting-list"
    assert waiting_mail.subject.startswith("Lista de espera")
    assert "quedaste en la lista de espera" in waiting_mail.body_text
    assert "lista de espera" in waiting_mail.body_html
    link_in(waiting_mail.body_text)


def test_lowest_free_seat_is_taken(app, client):
    with app.app_context():
        edition = make_course(capacity=3)
        db.session.commit()
        edition_id = edition.id
    for n in range(3):
        submit(client, **person(n))
    with app.app_context():
        second = enrollments()[1]
        db.session.delete(second)
        db.session.commit()
    submit(client, **person(9))
    with app.app_context():
        assert enrollments()[-1].seat == 2
        edition = db.session.get(Edition, edition_id)
        assert edition.capacity == 3


def test_promote_waiting_fills_free_seats_in_registration_order_and_tells_them(app, client):
    with app.app_context():
        edition = make_course(capacity=1)
        db.session.commit()
        edition_id = edition.id
    for n in range(4):
        submit(client, **person(n))
    with app.app_context():
        edition = db.session.get(Edition, edition_id)
        edition.capacity = 3
        promoted = services.promote_waiting(edition, OPEN_NOW)
        db.session.commit()
        assert [e.email for e in promoted] == ["persona1@example.org", "persona2@example.org"]
    with app.app_context():
        assert [(e.status, e.seat) for e in enrollments()] == [
            ("registered", 1),
            ("registered", 2),
            ("registered", 3),
            ("waiting", None),
        ]
        promoted_mail = [m for m in messages() if m.kind == "promoted"]
    assert [m.recipient for m in promoted_mail] == ["persona1@example.org", "persona2@example.org"]
    assert promoted_mail[0].subject.startswith("Tienes un cupo")
    with app.app_context():
        edition = db.session.get(Edition, edition_id)
        assert services.promote_waiting(edition, OPEN_NOW) == []


def test_body_over_64_kb_is_refused_with_413_and_stores_nothing(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    response = client.post(
        FORM_URL, data={**VALID, "organization": "x" * (70 * 1024), "csrf_token": "t"}
    )
    assert response.status_code == 413
    with app.app_context():
        assert counts() == (0, 0)


def test_missing_csrf_token_is_refused_with_400_and_stores_nothing(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    client.get(FORM_URL)
    response = client.post(FORM_URL, data=VALID)
    assert response.status_code == 400
    with app.app_context():
        assert counts() == (0, 0)


def test_unknown_course_or_edition_is_404(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    assert client.get("/courses/pesca-acuicultura/2099/register").status_code == 404
    assert client.get("/courses/nada/2023/register").status_code == 404


def test_english_visitor_gets_english_mail(app, client):
    with app.app_context():
        edition = make_course(capacity=1)
        for module in edition.course.modules:
            module.title = {**module.title, "en": f"Module {module.position} (en)"}
        db.session.commit()
    client.set_cookie("lang", "en")
    submit(client)
    submit(client, **person(1))
    with app.app_context():
        confirmation, waiting = messages()
    assert confirmation.subject.startswith("Registered: ")
    assert "Module 1 (en)" in confirmation.body_text
    assert "How to complete them" in confirmation.body_text
    assert waiting.subject.startswith("Waiting list")
    assert "waiting list" in waiting.body_text
    assert '<html lang="en">' in waiting.body_html


def test_capacity_made_unlimited_promotes_the_whole_waiting_list_without_seats(app, client):
    with app.app_context():
        edition = make_course(capacity=1)
        db.session.commit()
        edition_id = edition.id
    for n in range(3):
        submit(client, **person(n))
    with app.app_context():
        edition = db.session.get(Edition, edition_id)
        edition.capacity = 0
        promoted = services.promote_waiting(edition, OPEN_NOW)
        db.session.commit()
    assert len(promoted) == 2
    with app.app_context():
        assert [(e.status, e.seat) for e in enrollments()] == [
            ("registered", 1),
            ("registered", None),
            ("registered", None),
        ]
