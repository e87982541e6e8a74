"""The visitor's country time (guessed from es-PE), a closed edition that leads on (to the
open one, or "avísame"), and a full edition that says registrations go to the waiting list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from courses.catalog.models import Edition
from courses.extensions import db
from courses.registration.models import OpeningNotice
from courses.registration.notices import notify_openings
from tests.factories import (
    CLOSES,
    FORM_URL,
    OPEN_NOW,
    csrf_token,
    make_course,
    messages,
    submit,
)

AFTER = CLOSES + timedelta(days=30)
COURSE_URL = "/courses/pesca-acuicultura"
NOTIFY_URL = "/courses/pesca-acuicultura/notify"


def notices() -> list[OpeningNotice]:
    db.session.expire_all()
    return list(db.session.scalars(select(OpeningNotice).order_by(OpeningNotice.id)))


def test_the_course_page_reads_the_deadline_in_the_browsers_country_and_carries_it(app, client):
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        make_course()
        db.session.commit()
    page = client.get(COURSE_URL, headers={"Accept-Language": "es-PE,es;q=0.9"}).text
    assert "En Perú: viernes, 21 de julio de 2023, 22:59 (hora de Perú)" in page
    assert "23:59 (hora de Chile)" in page, "the course's own time beside it"
    assert f'href="{FORM_URL}?country=PE"' in page
    form = client.get(f"{FORM_URL}?country=PE").text
    assert '<option selected value="PE">' in form or '<option value="PE" selected>' in form
    assert "En Perú:" in form
    assert 'name="country" id="time-country"' not in form and "Ver hora" not in form


def test_the_form_guesses_the_country_from_the_browser_language_too(app, client):
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        make_course()
        db.session.commit()
    form = client.get(FORM_URL, headers={"Accept-Language": "es-MX"}).text
    assert "En México:" in form
    chile = client.get(FORM_URL, headers={"Accept-Language": "es"}).text
    assert "En México:" not in chile


def test_a_closed_edition_links_to_the_open_one(app, client):
    app.config["FIXED_NOW"] = AFTER
    with app.app_context():
        old = make_course()
        db.session.commit()
        db.session.add(
            Edition(
                course=old.course,
                slug="2024",
                registration_opens=AFTER - timedelta(days=1),
                registration_closes=AFTER + timedelta(days=20),
            )
        )
        db.session.commit()
    page = client.get(FORM_URL).text
    assert 'href="/courses/pesca-acuicultura/2024/register"' in page
    assert "Avísame" not in page


def test_a_closed_edition_without_an_open_one_offers_avisame(app, client):
    app.config["FIXED_NOW"] = AFTER
    with app.app_context():
        make_course()
        db.session.commit()
    page = client.get(FORM_URL).text
    assert f'action="{NOTIFY_URL}#errores"' in page
    assert f'href="{NOTIFY_URL}"' in client.get(COURSE_URL).text
    token = csrf_token(client, NOTIFY_URL)
    data = {"csrf_token": token, "email": "Juan@Example.org", "consent": "y"}
    response = client.post(NOTIFY_URL, data=data)
    assert response.status_code == 303
    assert client.post(NOTIFY_URL, data=data).status_code == 303, "asking twice is fine"
    phone = {"csrf_token": token, "phone": "9 6123 4567", "country": "CL", "consent": "y"}
    assert client.post(NOTIFY_URL, data=phone).status_code == 303
    with app.app_context():
        stored = [(n.email, n.phone, n.contact_key) for n in notices()]
    assert stored == [
        ("Juan@example.org", None, "juan@example.org"),
        (None, "+56961234567", "+56961234567"),
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "juan@example.org"}, "consent"),
        ({"email": "juan@", "consent": "y"}, "email"),
        ({"phone": "12", "country": "CL", "consent": "y"}, "phone"),
        ({"consent": "y"}, "email"),
    ],
)
def test_a_refused_avisame_stores_nothing(app, client, data, field):
    app.config["FIXED_NOW"] = AFTER
    with app.app_context():
        make_course()
        db.session.commit()
    response = client.post(NOTIFY_URL, data={"csrf_token": csrf_token(client, NOTIFY_URL), **data})
    assert response.status_code == 422
    assert 'id="errores"' in response.text and "error" in response.text
    with app.app_context():
        assert notices() == []


def test_those_who_asked_get_one_message_when_an_edition_opens_and_are_forgotten(app, client):
    app.config["FIXED_NOW"] = AFTER
    with app.app_context():
        course_id = make_course().course_id
        db.session.commit()
    token = csrf_token(client, NOTIFY_URL)
    client.post(NOTIFY_URL, data={"csrf_token": token, "email": "juan@example.org", "consent": "y"})
    with app.app_context():  # each run of the job in a context of its own, as in the worker
        assert notify_openings(AFTER) == 0, "nothing open yet"
        db.session.commit()
    with app.app_context():
        assert len(notices()) == 1 and messages() == []
        db.session.add(
            Edition(
                course_id=course_id,
                slug="2024",
                registration_opens=AFTER + timedelta(days=1),
                registration_closes=AFTER + timedelta(days=20),
            )
        )
        db.session.commit()
    opened = AFTER + timedelta(days=2)
    with app.app_context():
        assert notify_openings(opened) == 1
        db.session.commit()
    with app.app_context():
        assert notify_openings(opened) == 0
        db.session.commit()
    with app.app_context():
        [mail] = messages()
    assert mail.kind == "edition-open" and mail.recipient == "juan@example.org"
    assert "/courses/pesca-acuicultura/2024/register" in mail.body_text
    assert len(mail.subject) < 60 and mail.subject.startswith("Inscripciones abiertas")
    with app.app_context():
        assert notices() == []


def test_a_full_edition_says_new_registrations_go_to_the_waiting_list(app, client):
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        make_course(capacity=1)
        db.session.commit()
    assert "lista de espera" not in client.get(COURSE_URL).text.split("<h2>")[0]
    assert submit(client).status_code == 303
    page = client.get(COURSE_URL).text
    assert "Cupos completos: lista de espera" in page
    assert "las nuevas inscripciones quedan en la lista de espera" in page
    form = client.get(FORM_URL).text
    assert "si te inscribes ahora quedas en la lista de espera" in form


def test_the_worker_announces_each_opening_once(app, client):
    from courses.worker.jobs import JOBS
    from courses.worker.schedule import run_once

    [job] = [j for j in JOBS if j.name == "edition-openings"]
    app.config["FIXED_NOW"] = AFTER
    with app.app_context():
        course_id = make_course().course_id
        db.session.commit()
    token = csrf_token(client, NOTIFY_URL)
    client.post(NOTIFY_URL, data={"csrf_token": token, "email": "juan@example.org", "consent": "y"})
    with app.app_context():
        assert list(job.periods(AFTER)) == []
    with app.app_context():
        edition = Edition(
            course_id=course_id,
            slug="2024",
            registration_opens=AFTER + timedelta(days=1),
            registration_closes=AFTER + timedelta(days=20),
        )
        db.session.add(edition)
        db.session.commit()
        edition_id = edition.id
    opened = AFTER + timedelta(days=2)
    with app.app_context():
        [period] = job.periods(opened)
    assert period == f"{course_id}:{edition_id}"
    with app.app_context():
        assert run_once(job, period, opened) is True
    with app.app_context():
        assert run_once(job, period, opened) is False
    with app.app_context():
        assert [m.kind for m in messages()] == ["edition-open"]
        assert list(job.periods(opened)) == [], "told and forgotten"
