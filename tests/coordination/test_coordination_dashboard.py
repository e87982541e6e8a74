"""The dashboard's numbers on a seeded edition: cumulative funnel, rate, seats, deadlines, the
people who stopped (and their CSV), and the same numbers on the home page."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from courses.extensions import db
from courses.participants.models import ModuleCompletion
from courses.registration.models import Enrollment
from tests.factories import (
    COUNTED_FROM_NOW,
    NOW,
    complete,
    login,
    make_certificate,
    make_coordinator,
    make_course,
    make_enrollment,
)

BASE = "/coordinator/pesca-acuicultura/2023"


@pytest.fixture
def seeded(app):
    """Peru: 1 registered only, 2 opened the link, 1 started, 1 certified; Chile: 1 waiting."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(modules=2, capacity=10, **COUNTED_FROM_NOW)
        old = NOW - timedelta(days=20)
        quiet = make_enrollment(edition, "Quieta Pérez", country="PE", seat=1, created_at=old)
        make_enrollment(edition, "Abrió Uno", country="PE", seat=2, confirmed=True)
        make_enrollment(edition, "Abrió Dos", country="PE", seat=3, confirmed=True)
        started = make_enrollment(edition, "Empezó", country="PE", seat=4, created_at=old)
        complete(started, 1)
        done = make_enrollment(edition, "Terminó", country="PE", seat=5, confirmed=True)
        complete(done, 1, 2)
        make_certificate(done)
        make_enrollment(edition, "Espera", country="CL", waiting=True)
        # Started 20 days ago and nothing since: also on the quiet list.
        db.session.query(ModuleCompletion).filter_by(enrollment_id=started.id).update(
            {"completed_at": old}
        )
        people = {
            "admin": make_coordinator("admin").email,
            "PE": make_coordinator("country", country="PE").email,
        }
        db.session.commit()
        return people, {"quiet": quiet.id, "started": started.id}


def _cells(page: str, header: str) -> list[str]:
    row = re.search(rf"<th scope=\"row\">{header}</th>(.*?)</tr>", page, re.S)
    assert row, header
    return re.findall(r"<td>(.*?)</td>", row.group(1))


def test_funnel_is_cumulative_and_the_numbers_add_up(app, client, seeded):
    people, ids = seeded
    login(client, people["admin"])
    page = client.get(f"{BASE}/dashboard").get_data(as_text=True)
    # registered → opened the link → started → completed → certificate
    assert _cells(page, "Perú") == ["5", "4", "2", "1", "1"]  # starting implies opening
    assert _cells(page, "Chile") == ["1", "0", "0", "0", "0"]
    assert _cells(page, "Total") == ["6", "4", "2", "1", "1"]
    # 1 completed of the 5 with a place (the waiting list is not counted).
    assert "completaron el 20" in page
    assert "5 de 10 ocupados; 5 libres" in page
    assert "Lista de espera</dt><dd>1</dd>" in page
    # Registration closes 11 days after NOW; complete_by is 60 days after.
    assert "faltan 11 días" in page and "faltan 60 días" in page
    assert "(hora de Chile)" in page
    assert "2 personas sin actividad en 14 días" in page
    assert "Quieta Pérez" in page and "Empezó</a>" in page


def test_quiet_list_csv_and_scope(app, client, seeded):
    people, ids = seeded
    login(client, people["PE"])
    response = client.get(f"{BASE}/inactive.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:4] == ["ID", "Nombre", "Correo electrónico", "Teléfono"]
    assert rows[0][-1] == "Última actividad (hora de Chile)"
    assert [int(row[0]) for row in rows[1:]] == [ids["quiet"], ids["started"]]
    page = client.get(f"{BASE}/dashboard").get_data(as_text=True)
    assert "Chile</th>" not in page  # a focal point counts only their country
    with app.app_context():
        assert db.session.get(Enrollment, ids["quiet"]) is not None


def test_home_page_shows_the_numbers_per_edition(app, client, seeded):
    people, _ids = seeded
    login(client, people["PE"])
    page = client.get("/coordinator/").get_data(as_text=True)
    assert re.search(r"<td>5</td><td>2</td>\s*<td>1 \(20\s?%\)</td>", page), page


GENDER = {
    "key": "gender",
    "label": {"es": "Género", "en": "Gender"},
    "kind": "choice",
    "choices": [{"es": "Mujer", "en": "Woman"}, {"es": "Hombre", "en": "Man"}],
    "required": False,
}


def test_dashboard_breaks_down_each_choice_question_within_the_coordinators_scope(
    app, client, seeded
):
    people, _ = seeded
    with app.app_context():
        enrollments = db.session.query(Enrollment).order_by(Enrollment.id).all()
        course = enrollments[0].edition.course
        course.questions = [GENDER]
        answers = {"Quieta Pérez": "Mujer", "Abrió Uno": "Mujer", "Empezó": "Hombre"}
        for person in enrollments:
            if person.name in answers:
                person.answers = {"gender": answers[person.name]}
        # Chile's only person (waiting) answered too: a Peru focal point must not count her.
        next(p for p in enrollments if p.country == "CL").answers = {"gender": "Mujer"}
        db.session.commit()

    login(client, people["admin"])
    page = client.get(f"{BASE}/dashboard").get_data(as_text=True)
    assert "<h2>Género</h2>" in page
    assert _choice(page, "Mujer") == "3"
    assert _choice(page, "Hombre") == "1"
    assert _choice(page, "Sin respuesta") == "2"

    login(client, people["PE"])  # a new login replaces the admin's session
    page = client.get(f"{BASE}/dashboard").get_data(as_text=True)
    assert _choice(page, "Mujer") == "2"
    assert _choice(page, "Hombre") == "1"
    assert _choice(page, "Sin respuesta") == "2"


def _choice(page: str, label: str) -> str:
    row = re.search(rf'<th scope="row">{label}</th><td>(\d+)</td>', page)
    assert row, label
    return row.group(1)
