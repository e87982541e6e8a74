"""Name corrections: started by a coordinator on the enrollee page, requests on the home page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from courses.certificates.models import Certificate, NameCorrection
from courses.coordination.models import AuditEntry
from courses.extensions import db
from courses.registration.models import Enrollment
from tests.factories import (
    NOW,
    login,
    make_certificate,
    make_coordinator,
    make_correction,
    make_course,
    make_enrollment,
    post,
)
from tests.factories import row_counts as counts

BASE = "/coordinator/pesca-acuicultura/2023"


@pytest.fixture
def certified(app):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        rosa = make_enrollment(edition, "Rosa Quispe", country="PE", phone="+51987654321")
        make_certificate(rosa, code="ABCDE23456")
        luis = make_enrollment(edition, "Luis Soto", country="CL")
        make_certificate(luis, code="BCDEF34567")
        make_correction(luis, "Luis Soto Vera")
        people = {
            "PE": make_coordinator("country", country="PE").email,
            "CL": make_coordinator("country", country="CL").email,
            "admin": make_coordinator("admin").email,
        }
        ids = {"rosa": rosa.id, "luis": luis.id}
        db.session.commit()
    return people, ids


def test_coordinator_corrects_a_certified_name_and_a_new_certificate_is_issued(
    app, client, certified
):
    people, ids = certified
    login(client, people["PE"])
    url = f"{BASE}/enrollments/{ids['rosa']}"
    assert "Corregir el nombre del certificado" in client.get(url).get_data(as_text=True)
    response = post(client, url + "/name", {"certificate-name": "Rosa Quispe Huamán"})
    assert response.status_code == 303
    with app.app_context():
        person = db.session.get(Enrollment, ids["rosa"])
        assert person.name == "Rosa Quispe Huamán"
        certificates = db.session.scalars(
            select(Certificate).where(Certificate.enrollment_id == ids["rosa"])
        ).all()
        assert [c.holder_name for c in certificates if c.superseded_by_id is None] == [
            "Rosa Quispe Huamán"
        ]
        correction = db.session.scalar(
            select(NameCorrection).where(NameCorrection.enrollment_id == ids["rosa"])
        )
        assert correction.decision == "approved" and correction.decided_by_id is not None
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "name_correction.coordinator")
        )
        assert entry.details["old_name"] == "Rosa Quispe"
        assert entry.details["old_code"] == "ABCDE23456"


@pytest.mark.parametrize("typed", ["R", "Rosa Quispe", ""])
def test_a_refused_name_correction_changes_nothing(app, client, certified, typed):
    people, ids = certified
    login(client, people["admin"])
    with app.app_context():
        before = counts()
    response = post(client, f"{BASE}/enrollments/{ids['rosa']}/name", {"certificate-name": typed})
    assert response.status_code == 303
    with app.app_context():
        assert counts() == before
        assert db.session.get(Enrollment, ids["rosa"]).name == "Rosa Quispe"


def test_name_correction_is_404_outside_the_scope(app, client, certified):
    people, ids = certified
    login(client, people["CL"])
    with app.app_context():
        before = counts()
    url = f"{BASE}/enrollments/{ids['rosa']}/name"
    assert post(client, url, {"certificate-name": "Otra Persona"}).status_code == 404
    with app.app_context():
        assert counts() == before


def test_requests_are_listed_on_the_home_page_of_those_who_may_decide(app, client, certified):
    people, ids = certified
    login(client, people["CL"])
    page = client.get("/coordinator/").get_data(as_text=True)
    assert "1 solicitud de corrección de nombre" in page
    assert "Luis Soto Vera" in page
    assert f"{BASE}/certificates" in page
    login(client, people["PE"])
    page = client.get("/coordinator/").get_data(as_text=True)
    assert "solicitud de corrección" not in page  # Luis registered from Chile
