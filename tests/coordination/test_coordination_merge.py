"""Likely duplicates flagged in the list and on the enrollee page, and merged into one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from courses.certificates.models import Certificate
from courses.coordination.models import AuditEntry
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.merge import distance
from courses.participants.models import ModuleCompletion
from courses.registration.models import Enrollment
from tests.factories import (
    NOW,
    complete,
    login,
    make_certificate,
    make_coordinator,
    make_course,
    make_enrollment,
    post,
)
from tests.factories import row_counts as counts

BASE = "/coordinator/pesca-acuicultura/2023"


@pytest.fixture
def twins(app):
    """Juan registered twice (gmail / gmial), plus Eva sharing nobody's details."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(modules=3)
        first = make_enrollment(
            edition, "Juan Pérez", email="juan@gmial.com", country="PE", phone="+51987000001"
        )
        second = make_enrollment(
            edition, "juan perez", email="juan@gmail.com", country="PE", phone="+51987000002"
        )
        eva = make_enrollment(edition, "Eva Ríos", email="eva@example.org", country="PE")
        same_phone = make_enrollment(
            edition, "Otra Persona", email="otra@example.org", country="PE", phone=eva.phone
        )
        complete(first, 1)
        complete(second, 2, 3)
        people = {
            "PE": make_coordinator("country", country="PE").email,
            "CL": make_coordinator("country", country="CL").email,
            "admin": make_coordinator("admin").email,
        }
        ids = {"first": first.id, "second": second.id, "eva": eva.id, "same": same_phone.id}
        db.session.commit()
    return people, ids


def test_edit_distance():
    assert distance("juan@gmail.com", "juan@gmial.com") == 2
    assert distance("juan@gmail.com", "juan@gmail.co") == 1
    assert distance("ana@example.org", "eva@example.org") == 2
    assert distance("ana@example.org", "pedro@example.org") == 3


def test_duplicates_are_flagged_in_the_list(app, client, twins):
    people, ids = twins
    login(client, people["PE"])
    page = client.get(f"{BASE}/enrollments").get_data(as_text=True)
    assert page.count("posible duplicado") == 4  # the two Juans, Eva and her phone's twin
    login(client, people["CL"])
    assert "posible duplicado" not in client.get(f"{BASE}/enrollments").get_data(as_text=True)


def test_merge_keeps_every_completion_removes_the_other_and_tells_both(app, client, twins):
    people, ids = twins
    login(client, people["PE"])
    page = client.get(f"{BASE}/enrollments/{ids['second']}").get_data(as_text=True)
    assert "Posibles duplicados" in page and "juan@gmial.com" in page
    url = f"{BASE}/enrollments/{ids['second']}/merge/{ids['first']}"
    preview = client.get(url).get_data(as_text=True)
    assert "juan@gmail.com" in preview and "juan@gmial.com" in preview
    assert post(client, url).status_code == 303
    with app.app_context():
        assert db.session.get(Enrollment, ids["first"]) is None
        kept = db.session.get(Enrollment, ids["second"])
        modules = db.session.scalars(
            select(ModuleCompletion.enrollment_id).where(
                ModuleCompletion.enrollment_id.in_([ids["first"], ids["second"]])
            )
        ).all()
        assert modules == [ids["second"]] * 3
        # With all three modules the kept registration is complete and certified.
        assert kept.completed_at is not None
        assert db.session.scalar(select(Certificate.enrollment_id)) == ids["second"]
        mail = {
            (m.kind, m.recipient)
            for m in db.session.scalars(select(OutboxMessage))
            if m.kind.startswith("merged")
        }
        assert mail == {("merged", "juan@gmail.com"), ("merged-removed", "juan@gmial.com")}
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "enrollment.merge")
        ).one()
        assert entry.target == f"enrollment:{ids['second']}"
        assert entry.details["removed"]["email"] == "juan@gmial.com"
        assert entry.details["modules_moved"] == 1


def test_merge_is_404_outside_the_scope_and_changes_nothing(app, client, twins):
    people, ids = twins
    login(client, people["CL"])
    url = f"{BASE}/enrollments/{ids['second']}/merge/{ids['first']}"
    with app.app_context():
        before = counts()
    assert client.get(url).status_code == 404
    assert post(client, url).status_code == 404
    with app.app_context():
        assert counts() == before


def test_merge_refuses_to_remove_a_certified_registration(app, client, twins):
    people, ids = twins
    with app.app_context():
        make_certificate(db.session.get(Enrollment, ids["first"]))
        db.session.commit()
        before = counts()
    login(client, people["admin"])
    response = post(client, f"{BASE}/enrollments/{ids['second']}/merge/{ids['first']}")
    assert response.status_code == 200
    assert "tiene certificado" in response.get_data(as_text=True)
    with app.app_context():
        assert counts() == before
        assert not db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "enrollment.merge")
        )
