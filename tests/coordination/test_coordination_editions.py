"""Editions created from the browser, by admins and the course's coordinators only."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from courses.catalog.models import Edition
from courses.coordination.models import AuditEntry
from courses.extensions import db
from tests.factories import NOW, login, make_coordinator, make_course, post

NEW = "/coordinator/pesca-acuicultura/editions/new"
SANTIAGO = ZoneInfo("America/Santiago")
GOOD = {
    "slug": "2024",
    "registration_opens": "2024-03-01",
    "registration_closes": "2024-04-30",
    "complete_by": "2024-06-30",
    "capacity": "300",
}


@pytest.fixture
def people(app):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        other = make_course("otro-curso")
        result = {
            "admin": make_coordinator("admin").email,
            "course": make_coordinator("course", course=edition.course).email,
            "other_course": make_coordinator("course", course=other.course).email,
            "country": make_coordinator("country", country="PE").email,
        }
        db.session.commit()
    return result


def _editions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Edition))


@pytest.mark.parametrize("role", ["admin", "course"])
def test_next_years_edition_is_created_with_days_in_the_course_time_zone(app, client, people, role):
    login(client, people[role])
    assert NEW in client.get("/coordinator/").get_data(as_text=True)
    response = post(client, NEW, GOOD)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/pesca-acuicultura/2024/settings")
    with app.app_context():
        edition = db.session.scalar(select(Edition).where(Edition.slug == "2024"))
        assert edition.registration_opens == datetime(2024, 3, 1, tzinfo=SANTIAGO)
        # The last day is included whole: the limit is the next local midnight.
        assert edition.registration_closes == datetime(2024, 5, 1, tzinfo=SANTIAGO)
        assert edition.complete_by == datetime(2024, 7, 1, tzinfo=SANTIAGO)
        assert edition.capacity == 300
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "edition.create"))
        assert entry.target == f"edition:{edition.id}"
    # And it is one of the coordinator's editions at once.
    page = client.get("/coordinator/pesca-acuicultura/2024/enrollments")
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"slug": "Edición 2024"}, "slug", "minúsculas"),
        ({"slug": "2023"}, "slug", "Ya existe"),
        ({"registration_closes": ""}, "registration_closes", "último día de inscripción"),
        ({"registration_opens": "2024-05-10"}, "registration_opens", "antes del último día"),
        ({"complete_by": "2024-04-01"}, "complete_by", "no puede ser antes"),
        ({"capacity": "-1"}, "capacity", "0 o más"),
        ({"registration_closes": "30/04/2024"}, "registration_closes", ""),
    ],
)
def test_a_refused_edition_shows_why_beside_the_field_and_stores_nothing(
    app, client, people, changes, field, message
):
    login(client, people["admin"])
    before = _editions(app)
    response = post(client, NEW, {**GOOD, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert _editions(app) == before
    with app.app_context():
        assert not db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "edition.create")
        )


@pytest.mark.parametrize("role", ["country", "other_course"])
def test_others_get_404_and_no_link(app, client, people, role):
    login(client, people[role])
    assert NEW not in client.get("/coordinator/").get_data(as_text=True)
    assert client.get(NEW).status_code == 404
    assert post(client, NEW, GOOD).status_code == 404
    assert _editions(app) == 2


def test_focal_points_see_no_link_to_dates_and_capacity(app, client, people):
    login(client, people["country"])
    page = client.get("/coordinator/pesca-acuicultura/2023/enrollments").get_data(as_text=True)
    assert "/settings" not in page and "Fechas y cupos" not in page
    login(client, people["course"])
    page = client.get("/coordinator/pesca-acuicultura/2023/enrollments").get_data(as_text=True)
    assert "/pesca-acuicultura/2023/settings" in page
