"""The reminders job in the worker: once per edition and local day, to the right people, with a
one-click way to stop them that is honoured at once. Real SMTP for the headers."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from courses.catalog.models import Edition
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.models import ModuleCompletion
from courses.reminders import job
from courses.worker import schedule
from courses.worker.jobs import JOBS
from courses.worker.models import JobRun
from tests.factories import enroll, make_course

SANTIAGO = ZoneInfo("America/Santiago")
COMPLETE_BY = datetime(2023, 10, 1, tzinfo=SANTIAGO)  # last day: Saturday 30 September
#: A week before the last day, 10:30 in Santiago (13:30 UTC).
WEEK_BEFORE = datetime(2023, 9, 23, 10, 30, tzinfo=SANTIAGO)
#: Only the reminders job (the worker runs the others too, e.g. the digest).
REMINDERS = [job_ for job_ in JOBS if job_.name == "reminders"]


def reminders() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind.like("reminder%"))
            .order_by(OutboxMessage.id)
        )
    )


@pytest.fixture
def edition(app) -> int:
    """The edition's id: one person halfway, one done, one waiting, one erased, one withdrawn."""
    app.config["FIXED_NOW"] = WEEK_BEFORE
    with app.app_context():
        return _fill(make_course(complete_by=COMPLETE_BY))


def _fill(edition: Edition) -> int:
    modules = edition.course.modules
    halfway, _ = enroll(edition, email="halfway@example.org", name="Ana Mitad")
    for module in modules[:2]:
        db.session.add(
            ModuleCompletion(
                enrollment=halfway,
                module=module,
                source="self",
                completed_at=WEEK_BEFORE - timedelta(days=3),
            )
        )
    done, _ = enroll(edition, email="done@example.org")
    for module in modules:
        db.session.add(ModuleCompletion(enrollment=done, module=module, source="self"))
    done.completed_at = WEEK_BEFORE - timedelta(days=1)
    enroll(edition, email="waiting@example.org", waiting=True)
    erased, _ = enroll(edition, email="erased@example.org")
    erased.erased_at = WEEK_BEFORE - timedelta(days=1)
    gone, _ = enroll(edition, email="withdrawn@example.org")
    gone.status, gone.withdrawn_at = "withdrawn", WEEK_BEFORE - timedelta(days=2)
    db.session.commit()
    return edition.id


def test_the_week_before_only_those_not_complete_get_one_reminder_once(app, edition):
    with app.app_context():
        assert schedule.run_due(REMINDERS, WEEK_BEFORE) == 1
        [message] = reminders()
    assert message.recipient == "halfway@example.org" and message.kind == "reminder-deadline"
    assert "te faltan 4 de 6 módulos" in message.body_text
    assert "Queda una semana" in message.subject
    assert "/my/" in message.body_text and "/reminders/stop/" in message.body_text
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Later the same day (another worker, or the next look): the period has run.
    with app.app_context():
        assert schedule.run_due(REMINDERS, WEEK_BEFORE + timedelta(hours=5)) == 0
        assert len(reminders()) == 1
        [run] = db.session.scalars(select(JobRun).where(JobRun.job == "reminders")).all()
    assert run.job == "reminders" and run.period.endswith(":2023-09-23")
    assert run.summary == "1 reminder-deadline"  # counts, never names or addresses


def test_nothing_before_ten_in_the_course_time_zone(app, edition):
    early = datetime(2023, 9, 23, 9, 59, tzinfo=SANTIAGO)
    with app.app_context():
        assert job.periods(early) == []
        assert schedule.run_due(REMINDERS, early) == 0
    # 10:00 in Santiago is 13:00 UTC (summer time, UTC-3).
    with app.app_context():
        assert job.periods(datetime(2023, 9, 23, 13, 0, tzinfo=UTC)) == [f"{edition}:2023-09-23"]


def test_the_stop_link_and_the_one_click_headers_stop_reminders_at_once(
    app, client, runner, edition, smtp_server
):
    with app.app_context():
        schedule.run_due(JOBS, WEEK_BEFORE)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    assert "1 sent" in runner.invoke(args=["outbox", "send"]).output
    [received] = smtp_server.messages
    header = received["List-Unsubscribe"]
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header.strip().strip("<>")
    assert url.startswith("http://certificados.test/reminders/stop/")
    assert "@" not in url  # no address in the link
    path = url.removeprefix("http://certificados.test")
    # Following the link (a scanner, a preview) changes nothing; it shows a button.
    page = client.get(path)
    assert page.status_code == 200 and "No enviarme más recordatorios" in page.text
    # The mail program's one-click POST (RFC 8058): no session, no CSRF token.
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "no te enviaremos más recordatorios" in answer.text
    assert client.post(path).status_code == 200  # twice is fine
    # Two days before the end the last call would go; not to someone who stopped reminders.
    last_call = datetime(2023, 9, 28, 10, 30, tzinfo=SANTIAGO)
    with app.app_context():
        schedule.run_due(JOBS, last_call)
        assert len(reminders()) == 1
    # A forged or damaged token is a plain 404.
    assert client.post("/reminders/stop/123.abc").status_code == 404
    assert client.get("/reminders/stop/" + "x" * 300).status_code == 404


def test_the_last_call_two_days_before_goes_even_after_the_weeks_reminder(app, edition):
    for day in (23, 25, 28):  # the 25th sends nothing; one worker turn (context) each
        with app.app_context():
            schedule.run_due(JOBS, datetime(2023, 9, day, 10, 30, tzinfo=SANTIAGO))
    with app.app_context():
        assert [m.kind for m in reminders()] == ["reminder-deadline", "reminder-last-call"]
        assert "Quedan 2 días" in reminders()[1].subject
        # After the deadline nothing more, and no job period at all.
        assert job.periods(datetime(2023, 10, 1, 12, 0, tzinfo=SANTIAGO)) == []


def test_reminders_are_written_in_the_persons_language(app, edition):
    with app.app_context():
        enroll(db.session.get(Edition, edition), email="english@example.org", locale="en")
    with app.app_context():
        schedule.run_due(JOBS, WEEK_BEFORE)
        [message] = [m for m in reminders() if m.recipient == "english@example.org"]
    assert "6 of 6 modules to go" in message.subject


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="concurrent sessions need a database server (the in-memory SQLite has one connection)",
)
def test_a_job_period_runs_once_however_many_workers_try_at_the_same_moment(app, edition):
    """Several threads, each its own session and connection, run the same period at once."""
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        with app.app_context():
            barrier.wait()
            try:
                results.append(schedule.run_due(REMINDERS, WEEK_BEFORE))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1]
    with app.app_context():
        assert len(reminders()) == 1
        assert (
            db.session.scalar(
                select(func.count()).select_from(JobRun).where(JobRun.job == "reminders")
            )
            == 1
        )
