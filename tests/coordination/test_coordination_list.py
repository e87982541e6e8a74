"""The enrollee list: accent-blind search, filters, states, sorting, pages and the count."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from courses.coordination.services import enrollment_status
from courses.extensions import db
from tests.factories import (
    NOW,
    complete,
    login,
    make_certificate,
    make_coordinator,
    make_course,
    make_enrollment,
)

LIST = "/coordinator/pesca-acuicultura/2023/enrollments"


def _names(response) -> list[str]:
    html = response.get_data(as_text=True)
    return re.findall(r'/enrollments/\d+">([^<]+)</a>', html)


def test_search_ignores_case_and_accents_in_name_email_and_organisation(app, client):
    with app.app_context():
        edition = make_course()
        make_enrollment(edition, "José Núñez Ñuble", organization="Cooperativa Pescadores")
        make_enrollment(edition, "María Gómez", organization="Sindicato Caleta Ángeles")
        make_enrollment(edition, "Pedro Soto", email="PEDRO.SOTO@Example.org")
        make_enrollment(edition, "Ana 100% Real_Name")
        email = make_coordinator("admin").email
        db.session.commit()
    login(client, email)
    assert _names(client.get(LIST, query_string={"q": "nunez"})) == ["José Núñez Ñuble"]
    assert _names(client.get(LIST, query_string={"q": "NÚÑEZ"})) == ["José Núñez Ñuble"]
    assert _names(client.get(LIST, query_string={"q": "nuble jose"})) == ["José Núñez Ñuble"]
    assert _names(client.get(LIST, query_string={"q": "angeles"})) == ["María Gómez"]
    assert _names(client.get(LIST, query_string={"q": "pedro.soto@example"})) == ["Pedro Soto"]
    # LIKE wildcards typed by people are plain characters.
    assert _names(client.get(LIST, query_string={"q": "100%"})) == ["Ana 100% Real_Name"]
    assert _names(client.get(LIST, query_string={"q": "a_n"})) == []
    response = client.get(LIST, query_string={"q": "gomez"})
    assert "1 persona" in response.get_data(as_text=True)


def test_states_are_derived_and_filterable(app, client):
    with app.app_context():
        edition = make_course(capacity=3)
        registered = make_enrollment(edition, "Uno Registrado", seat=1)
        confirmed = make_enrollment(edition, "Dos Confirmado", seat=2, confirmed=True)
        started = make_enrollment(edition, "Tres Empezado", seat=3, confirmed=True)
        complete(started, 1, 2)
        waiting = make_enrollment(edition, "Cuatro Espera", waiting=True)
        completed = make_enrollment(edition, "Cinco Completo", confirmed=True)
        complete(completed, 1, 2, 3, 4, 5, 6)
        completed.completed_at = NOW
        certified = make_enrollment(edition, "Seis Certificado", confirmed=True)
        complete(certified, 1, 2, 3, 4, 5, 6)
        make_certificate(certified)
        revoked = make_enrollment(edition, "Siete Revocado", confirmed=True)
        complete(revoked, 1, 2, 3, 4, 5, 6)
        make_certificate(revoked, code="REVOK23456", revoked_at=NOW)
        expected = {
            registered: "registered",
            confirmed: "confirmed",
            started: "in_progress",
            waiting: "waiting",
            completed: "completed",
            certified: "certified",
            revoked: "completed",
        }
        for enrollment, status in expected.items():
            assert enrollment_status(enrollment) == status, enrollment.name
        email = make_coordinator("admin").email
        db.session.commit()
        for enrollment in expected:
            db.session.refresh(enrollment)  # loaded: their names stay readable detached
    login(client, email)
    for status in ("registered", "confirmed", "in_progress", "waiting", "certified"):
        names = _names(client.get(LIST, query_string={"status": status}))
        assert names == [e.name for e, s in expected.items() if s == status], status
    assert sorted(_names(client.get(LIST, query_string={"status": "completed"}))) == [
        "Cinco Completo",
        "Siete Revocado",
    ]
    html = client.get(LIST, query_string={"status": "certified"}).get_data(as_text=True)
    assert "ABCDE-23456" in html and "6/6" in html


def test_country_filter_sorting_and_pages_of_fifty(app, client):
    with app.app_context():
        edition = make_course()
        for number in range(120):
            make_enrollment(
                edition,
                f"Persona {number:03d}",
                country="PE" if number % 2 else "CL",
                created_at=NOW - timedelta(hours=200 - number),
            )
        email = make_coordinator("admin").email
        db.session.commit()
    login(client, email)
    first = client.get(LIST)
    assert "120 personas" in first.get_data(as_text=True)
    assert len(_names(first)) == 50
    assert _names(first)[0] == "Persona 000"
    third = client.get(LIST, query_string={"page": 3})
    assert len(_names(third)) == 20
    assert _names(third)[-1] == "Persona 119"
    newest = client.get(LIST, query_string={"sort": "-registered"})
    assert _names(newest)[0] == "Persona 119"
    by_name = client.get(LIST, query_string={"sort": "-name", "country": "PE"})
    assert "60 personas" in by_name.get_data(as_text=True)
    assert _names(by_name)[0] == "Persona 119"
    assert _names(by_name)[1] == "Persona 117"
    # Nonsense in the query string falls back to defaults instead of failing.
    odd = client.get(LIST, query_string={"page": "x", "sort": "drop table", "status": "zzz"})
    assert odd.status_code == 200
    assert len(_names(odd)) == 50
    assert client.get(LIST, query_string={"page": 999}).status_code == 200


def test_list_page_has_no_inline_styles_and_stays_small(app, client):
    with app.app_context():
        edition = make_course()
        for number in range(50):
            make_enrollment(edition, f"Persona Con Nombre Largo {number}")
        email = make_coordinator("admin").email
        db.session.commit()
    login(client, email)
    html = client.get(LIST).get_data(as_text=True)
    assert "style=" not in html
    assert "<script" not in html
    css = (Path(app.static_folder) / "style.css").stat().st_size
    assert len(html.encode()) + css < 30_000, len(html.encode())


def test_coordinator_pages_speak_english_when_asked(app, client):
    with app.app_context():
        edition = make_course()
        make_enrollment(edition, "Ana Pérez", country="PE")
        email = make_coordinator("admin").email
        db.session.commit()
    login(client, email)
    client.set_cookie("lang", "en")
    html = client.get(LIST).get_data(as_text=True)
    assert "Enrollees" in html and "1 person" in html and "Perú" not in html
    text = client.get(LIST + ".csv").get_data().decode("utf-8-sig")
    assert text.startswith("ID,Name,E-mail")
    assert ",Peru," in text
