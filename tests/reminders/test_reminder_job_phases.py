"""The reminders job in two phases: it gathers the facts and renders every message without
SQLite's write lock (registrations go on meanwhile), then queues in a short transaction only
what still holds — whoever stopped reminders, completed, withdrew or was erased in between gets
nothing, and a module completed in between counts."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from courses import create_app
from courses.catalog.models import Edition
from courses.extensions import db
from courses.i18n import format_deadline, localized
from courses.mail.models import OutboxMessage
from courses.mail.services import queue_email
from courses.ops.privacy import erase_enrollment
from courses.participants.models import ModuleCompletion
from courses.participants.services import mark_module
from courses.registration import tokens
from courses.registration.models import Enrollment
from courses.registration.withdrawal import withdraw
from courses.reminders import job, rules
from courses.worker import schedule
from courses.worker.jobs import JOBS
from tests.factories import enroll, make_course

SANTIAGO = ZoneInfo("America/Santiago")
COMPLETE_BY = datetime(2023, 10, 1, tzinfo=SANTIAGO)  # last day: Saturday 30 September
#: A week before the last day, 10:30 in Santiago: the deadline reminder's day.
WEEK_BEFORE = datetime(2023, 9, 23, 10, 30, tzinfo=SANTIAGO)
REMINDERS = [job_ for job_ in JOBS if job_.name == "reminders"]


def reminders() -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind.in_(rules.KINDS))
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def halfway(edition: Edition, email: str, *, done: int = 2, **fields) -> int:
    """A committed enrollment with its first `done` modules completed three days before."""
    person, _ = enroll(edition, email=email, name=email.split("@")[0].title(), **fields)
    for module in edition.course.modules[:done]:
        db.session.add(
            ModuleCompletion(
                enrollment_id=person.id,
                module_id=module.id,
                source="self",
                completed_at=WEEK_BEFORE - timedelta(days=3),
            )
        )
    db.session.commit()
    return person.id


def prepared(app, period: str, now: datetime) -> job.Plan:
    """The read phase alone, in a transaction that is then ended (as `run_once` does)."""
    with app.app_context():
        plan = job.prepare(period, now)
        db.session.rollback()
    return plan


@pytest.fixture
def file_app(tmp_path):
    """The application on a SQLite file, whatever the test database: another connection to the
    same file can then ask for the write lock while the job runs."""
    path = tmp_path / "reminders.sqlite3"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    app.config["FIXED_NOW"] = WEEK_BEFORE
    with app.app_context():
        db.create_all()
    yield app, path
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_while_the_job_prepares_others_can_write_and_a_stop_made_meanwhile_is_honoured(
    file_app, monkeypatch
):
    app, path = file_app
    with app.app_context():
        edition = make_course(complete_by=COMPLETE_BY)
        ana = halfway(edition, "ana@example.org")
        halfway(edition, "luis@example.org")
    preparing, written = threading.Event(), threading.Event()
    decide = rules.reminder_for

    def decide_after_the_test_wrote(*args, **kwargs):
        # The job's first decision waits here (the job thread is in the middle of its work)
        # until the test has written through a connection of its own.
        if not preparing.is_set():
            preparing.set()
            written.wait(timeout=30)
        return decide(*args, **kwargs)

    monkeypatch.setattr(rules, "reminder_for", decide_after_the_test_wrote)
    ran: list[int] = []

    def worker() -> None:
        with app.app_context():
            try:
                ran.append(schedule.run_due(REMINDERS, WEEK_BEFORE))
            finally:
                db.session.remove()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert preparing.wait(timeout=30)
        # A registration's transaction, as a second process would open it, and no waiting:
        # with the job holding SQLite's write lock this fails at once ("database is locked").
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute(
                "INSERT INTO reminder_stop (enrollment_id, stopped_at) VALUES (?, ?)",
                (ana, "2023-09-23 13:31:00.000000"),
            )
            other.execute("COMMIT")
        finally:
            other.close()
    finally:
        written.set()
        thread.join(timeout=60)
    assert ran == [1]
    with app.app_context():
        # Ana asked to stop while the job was deciding: honoured at once.
        assert [m.recipient for m in reminders()] == ["luis@example.org"]


def test_looking_for_due_periods_takes_no_write_lock(file_app):
    app, path = file_app
    with app.app_context():
        halfway(make_course(complete_by=COMPLETE_BY), "ana@example.org")
    with app.app_context():
        assert schedule.run_due(JOBS, WEEK_BEFORE) >= 1  # the day's reminders and digest
    # Every half minute the worker looks again; with everything done it only reads, so a
    # writer holding the lock meanwhile (here, another connection) holds it up in nothing.
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with app.app_context():
            assert schedule.run_due(JOBS, WEEK_BEFORE + timedelta(hours=1)) == 0
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_who_stopped_completed_withdrew_or_was_erased_after_the_prepare_gets_nothing(app):
    app.config["FIXED_NOW"] = WEEK_BEFORE
    names = ("stays", "stops", "completes", "withdraws", "erased")
    with app.app_context():
        edition = make_course(complete_by=COMPLETE_BY)
        people = {name: halfway(edition, f"{name}@example.org") for name in names}
        period = f"{edition.id}:2023-09-23"
    plan = prepared(app, period, WEEK_BEFORE)
    assert sorted(p.message.recipient for p in plan.reminders) == sorted(
        f"{name}@example.org" for name in names
    )
    with app.app_context():  # meanwhile, each through the service that does it
        job.stop(people["stops"], WEEK_BEFORE)
        completes = db.session.get(Enrollment, people["completes"])
        for module in completes.edition.course.modules[2:]:
            mark_module(completes, module, source="self", now=WEEK_BEFORE)
        assert completes.completed_at is not None
        withdraw(db.session.get(Enrollment, people["withdraws"]), WEEK_BEFORE)
        erase_enrollment(db.session.get(Enrollment, people["erased"]), WEEK_BEFORE)
        db.session.commit()
    with app.app_context():
        assert job.run(period, WEEK_BEFORE, plan) == "1 reminder-deadline"
        db.session.commit()
        assert [m.recipient for m in reminders()] == ["stays@example.org"]


def test_a_module_completed_after_the_prepare_is_counted_in_the_reminder(app):
    app.config["FIXED_NOW"] = WEEK_BEFORE
    with app.app_context():
        edition = make_course(complete_by=COMPLETE_BY)
        ana = halfway(edition, "ana@example.org")
        period = f"{edition.id}:2023-09-23"
    plan = prepared(app, period, WEEK_BEFORE)
    assert "te faltan 4 de 6" in plan.reminders[0].message.subject
    with app.app_context():
        enrollment = db.session.get(Enrollment, ana)
        third = enrollment.edition.course.modules[2]
        mark_module(enrollment, third, source="self", now=WEEK_BEFORE)
        db.session.commit()
    with app.app_context():
        assert job.run(period, WEEK_BEFORE, plan) == "1 reminder-deadline"
        db.session.commit()
        [message] = reminders()
    assert "te faltan 3 de 6" in message.subject and "te faltan 3 de 6" in message.body_text


def test_a_module_completed_after_the_prepare_cancels_the_nudge(app):
    closes = datetime(2023, 7, 22, tzinfo=SANTIAGO)
    now = datetime(2023, 8, 20, 10, 30, tzinfo=SANTIAGO)
    app.config["FIXED_NOW"] = now
    with app.app_context():
        edition = make_course(closes=closes)  # no deadline: nudges only
        ana = halfway(edition, "ana@example.org", done=0, created_at=now - timedelta(days=20))
        period = f"{edition.id}:2023-08-20"
    plan = prepared(app, period, now)
    assert [p.message.kind for p in plan.reminders] == [rules.NUDGE]
    with app.app_context():
        enrollment = db.session.get(Enrollment, ana)
        mark_module(enrollment, enrollment.edition.course.modules[0], source="self", now=now)
        db.session.commit()
    with app.app_context():
        assert job.run(period, now, plan) == "none due"  # active again: no nudge today
        db.session.commit()
        assert reminders() == []


def test_a_queued_reminder_is_the_row_the_one_message_at_a_time_path_wrote(app):
    app.config["FIXED_NOW"] = WEEK_BEFORE
    with app.app_context():
        ana = halfway(make_course(complete_by=COMPLETE_BY), "ana@example.org", locale="en")
    with app.app_context():
        assert schedule.run_due(REMINDERS, WEEK_BEFORE) == 1
        [queued] = reminders()
        # What the job queued before it had a read phase: `queue_email` with these arguments.
        person = db.session.get(Enrollment, ana)
        edition, course = person.edition, person.edition.course
        link = job.stop_link(person.id)
        before = queue_email(
            kind=rules.DEADLINE,
            recipient=person.email,
            template="reminders/mail_reminder",
            language=person.locale,
            now=WEEK_BEFORE,
            enrollment_id=person.id,
            headers={
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            reminder=rules.DEADLINE,
            name=person.name,
            course_title=localized(course.title, person.locale),
            edition_label=edition.slug,
            done=2,
            total=6,
            left=4,
            deadline=format_deadline(edition.complete_by, course.timezone, person.locale),
            days_left=7,
            link=tokens.personal_link(tokens.token_for(person.token_salt)),
            stop_link=link,
        )
        table = OutboxMessage.__table__
        rows = {
            row["id"]: dict(row)
            for row in db.session.execute(
                select(table).where(table.c.id.in_([queued.id, before.id]))
            ).mappings()
        }
        new, old = rows.pop(queued.id), rows.pop(before.id)
        db.session.rollback()
    assert "4 of 6 modules to go" in new["subject"]
    message_id = r"<[0-9a-f]{32}\.reminder-deadline@certificados\.test>"
    assert all(re.fullmatch(message_id, row["message_id"]) for row in (new, old))
    assert new["message_id"] != old["message_id"]
    same = {key for key in new if key not in ("id", "message_id")}
    assert {key: new[key] for key in same} == {key: old[key] for key in same}
