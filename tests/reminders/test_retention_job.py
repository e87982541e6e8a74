"""The retention purge in the worker: off by default; when configured, once a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from courses.coordination.models import AuditEntry
from courses.extensions import db
from courses.registration.models import Enrollment
from courses.worker import retention, schedule
from courses.worker.jobs import JOBS
from tests.factories import enroll, make_course

NIGHT = datetime(2024, 3, 1, 3, 30, tzinfo=UTC)


def test_retention_is_off_unless_configured(app):
    assert app.config["PRIVACY_PURGE_AFTER_DAYS"] == 0
    with app.app_context():
        assert retention.periods(NIGHT) == []


def test_the_purge_erases_what_is_older_than_the_period_once_a_day(app):
    app.config["PRIVACY_PURGE_AFTER_DAYS"] = 90
    with app.app_context():
        edition = make_course()
        old, _ = enroll(edition, email="antigua@example.org")
        old.created_at = NIGHT - timedelta(days=120)
        recent, _ = enroll(edition, email="reciente@example.org")
        recent.created_at = NIGHT - timedelta(days=30)
        db.session.commit()
        ids = old.id, recent.id
    with app.app_context():
        assert retention.periods(NIGHT - timedelta(hours=1)) == []  # 02:30 UTC: not yet
        assert schedule.run_due(JOBS, NIGHT) == 1
    with app.app_context():
        old, recent = (db.session.get(Enrollment, id_) for id_ in ids)
        assert old.erased_at == NIGHT and "antigua" not in old.email
        assert recent.erased_at is None and recent.email == "reciente@example.org"
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.purge"))
        assert entry.details["enrollments"] == 1
    with app.app_context():
        assert schedule.run_due(JOBS, NIGHT + timedelta(hours=2)) == 0  # once that day
