"""Coordinators' digest: 08:00 course time, only when something happened, within each scope,
off / daily / weekly as each coordinator chooses; once per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from courses.catalog.models import Edition
from courses.coordination.models import Coordinator
from courses.digest import job as digest_job
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.worker import schedule
from courses.worker.jobs import JOBS
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

#: Monday 10 July 2023, 11:00 in Santiago: the digest of the 24 hours up to 08:00 is due.
MONDAY = NOW
assert MONDAY.weekday() == 0


def digests() -> dict[str, OutboxMessage]:
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
    return {row.recipient: row for row in rows}


@pytest.fixture
def course(app) -> int:
    """The course's edition id; an admin, Peru's focal point and three enrollments of
    yesterday, committed."""
    app.config["FIXED_NOW"] = MONDAY
    with app.app_context():
        edition = make_course(
            title={"es": "Curso pesca-acuicultura", "en": "Course pesca-acuicultura"},
            opens=NOW - timedelta(days=30),
            closes=NOW + timedelta(days=11),
            complete_by=NOW + timedelta(days=60),
        )
        make_coordinator("admin", email="admin@example.org")
        make_coordinator("country", email="peru@example.org", country="PE")
        yesterday = MONDAY - timedelta(hours=20)
        make_enrollment(edition, country="CL", created_at=yesterday)
        make_enrollment(edition, country="CL", created_at=yesterday)
        make_enrollment(edition, country="PE", created_at=yesterday)
        db.session.commit()
        return edition.id


def test_each_coordinator_gets_what_happened_in_their_scope(app, course):
    with app.app_context():
        assert schedule.run_due(JOBS, MONDAY) >= 1
        found = digests()
        assert set(found) == {"admin@example.org", "peru@example.org"}
        admin = found["admin@example.org"].body_text
        assert "Inscripciones nuevas: 3" in admin and "CL: 2" in admin and "PE: 1" in admin
        peru = found["peru@example.org"].body_text
        assert "Inscripciones nuevas: 1" in peru and "CL:" not in peru
        assert found["admin@example.org"].subject.startswith("Resumen del día")
    # Once per course and day, however often the worker looks.
    with app.app_context():
        schedule.run_due(JOBS, MONDAY + timedelta(hours=3))
        assert len(digests()) == 2


def test_completions_certificates_corrections_and_undeliverable_mail_are_counted(app, course):
    with app.app_context():
        edition = db.session.get(Edition, course)
        person = make_enrollment(edition, country="PE", created_at=MONDAY - timedelta(days=9))
        make_certificate(person).issued_at = MONDAY - timedelta(hours=18)
        person.completed_at = MONDAY - timedelta(hours=18)
        correction = make_correction(person, "Nombre Corregido")
        correction.created_at = MONDAY - timedelta(hours=17)
        db.session.add(
            OutboxMessage(
                message_id="<bounce@test>", kind="confirmation", recipient="x@example.org",
                subject="s", body_text="b", enrollment_id=person.id, created_at=MONDAY,
                next_attempt_at=MONDAY, failed_at=MONDAY - timedelta(hours=16),
            )
        )  # fmt: skip
        db.session.commit()
    with app.app_context():
        schedule.run_due(JOBS, MONDAY)
        text = digests()["peru@example.org"].body_text
    assert "completaron el curso: 1" in text
    assert "Certificados emitidos: 1" in text
    assert "esperando decisión: 1" in text
    assert "no se pudo entregar correo: 1" in text


def test_nothing_happened_nothing_sent_and_nothing_before_eight(app, course):
    early = datetime(2023, 7, 10, 11, 59, tzinfo=UTC)  # 07:59 in Santiago (UTC-4)
    with app.app_context():
        assert schedule.run_due(JOBS, early) == 0 or digests() == {}
        assert digests() == {}
    # The next day nothing new happened: no digest at all.
    with app.app_context():
        schedule.run_due(JOBS, MONDAY + timedelta(days=1))
        assert digests() == {}


def test_off_and_weekly_choices_on_the_coordinators_page(app, client, course):
    login(client, "admin@example.org")
    page = client.get("/coordinator/digest")
    assert page.status_code == 200 and "Cada semana, los lunes" in page.text
    assert post(client, "/coordinator/digest", {"frequency": "hourly"}).status_code == 400
    assert post(client, "/coordinator/digest", {"frequency": "off"}).status_code == 303
    assert 'checked id="frequency-2"' in client.get("/coordinator/digest").text
    with app.app_context():
        peru = db.session.scalar(select(Coordinator).filter_by(email="peru@example.org"))
        digest_job.choose(peru, "weekly")  # what the same page does for the focal point
        db.session.commit()
        # Something happened five days ago (outside the daily window, inside the weekly one).
        edition = db.session.get(Edition, course)
        make_enrollment(edition, country="PE", created_at=MONDAY - timedelta(days=5))
        db.session.commit()
    with app.app_context():
        schedule.run_due(JOBS, MONDAY)
        found = digests()
        assert set(found) == {"peru@example.org"}  # the admin chose "never"
        assert "Inscripciones nuevas: 2" in found["peru@example.org"].body_text
        assert found["peru@example.org"].subject.startswith("Resumen semanal")
    # Weekly means Mondays only.
    with app.app_context():
        edition = db.session.get(Edition, course)
        make_enrollment(edition, country="PE", created_at=MONDAY + timedelta(hours=10))
        db.session.commit()
    with app.app_context():
        schedule.run_due(JOBS, MONDAY + timedelta(days=1))
        assert len(digests()) == 1
