"""The digest job: at 08:00 of each course's time zone, one e-mail per coordinator who can see
the course, about the day before (or, for a weekly choice, on Mondays, the week before), only
when something happened within that coordinator's scope.

Its period is "<course id>:<local date>", run once across every worker by the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from courses.catalog.models import Course
from courses.certificates.models import Certificate, NameCorrection
from courses.coordination.models import Coordinator
from courses.coordination.services import can_see_course, scoped_enrollment_ids
from courses.digest.models import DAILY, OFF, WEEKLY, DigestChoice
from courses.extensions import db
from courses.i18n import localized
from courses.mail.models import OutboxMessage
from courses.mail.services import queue_email
from courses.registration.models import Enrollment

#: Local hour of the course's time zone from which the day's digests go out.
SEND_HOUR = 8
#: Day of the week (Monday) weekly digests go out.
WEEKLY_ON = 0


@dataclass
class Summary:
    """What happened in one coordinator's scope of one course during a window."""

    registrations: dict[str, int] = field(default_factory=dict)
    promoted: int = 0
    completions: int = 0
    certificates: int = 0
    corrections_new: int = 0
    corrections_waiting: int = 0
    undeliverable: int = 0

    @property
    def anything_happened(self) -> bool:
        return bool(
            sum(self.registrations.values())
            or self.promoted
            or self.completions
            or self.certificates
            or self.corrections_new
            or self.undeliverable
        )


def frequency(coordinator: Coordinator) -> str:
    choice = db.session.get(DigestChoice, coordinator.id)
    return choice.frequency if choice else DAILY


def choose(coordinator: Coordinator, value: str) -> None:
    """Record a coordinator's choice (flush only)."""
    choice = db.session.get(DigestChoice, coordinator.id)
    if choice is None:
        db.session.add(DigestChoice(coordinator_id=coordinator.id, frequency=value))
    else:
        choice.frequency = value
    db.session.flush()


def periods(now: datetime) -> list[str]:
    """Each course's local date, once 08:00 has passed in its time zone."""
    due = []
    for course_id, timezone in db.session.execute(
        select(Course.id, Course.timezone).order_by(Course.id)
    ):
        local = now.astimezone(ZoneInfo(timezone))
        if local.hour >= SEND_HOUR:
            due.append(f"{course_id}:{local.date().isoformat()}")
    return due


def window(day: date, tz: ZoneInfo, days: int) -> tuple[datetime, datetime]:
    """The `days` before 08:00 of `day`, local time."""
    end = datetime.combine(day, time(SEND_HOUR), tzinfo=tz)
    return end - timedelta(days=days), end


def summarize(coordinator: Coordinator, course: Course, start: datetime, end: datetime) -> Summary:
    """Counts for one coordinator's scope of `course` in [start, end)."""
    summary = Summary()
    for edition in course.editions:
        ids = scoped_enrollment_ids(coordinator, edition)
        for country, count in db.session.execute(
            select(Enrollment.country, func.count())
            .where(Enrollment.id.in_(ids), Enrollment.created_at >= start)
            .where(Enrollment.created_at < end)
            .group_by(Enrollment.country)
        ):
            summary.registrations[country] = summary.registrations.get(country, 0) + count
        summary.promoted += _count(
            OutboxMessage, OutboxMessage.enrollment_id.in_(ids), OutboxMessage.kind == "promoted",
            OutboxMessage.created_at >= start, OutboxMessage.created_at < end,
        )  # fmt: skip
        summary.completions += _count(
            Enrollment, Enrollment.id.in_(ids),
            Enrollment.completed_at >= start, Enrollment.completed_at < end,
        )  # fmt: skip
        summary.certificates += _count(
            Certificate, Certificate.enrollment_id.in_(ids),
            Certificate.issued_at >= start, Certificate.issued_at < end,
        )  # fmt: skip
        summary.corrections_new += _count(
            NameCorrection, NameCorrection.enrollment_id.in_(ids),
            NameCorrection.created_at >= start, NameCorrection.created_at < end,
        )  # fmt: skip
        summary.corrections_waiting += _count(
            NameCorrection, NameCorrection.enrollment_id.in_(ids),
            NameCorrection.decided_at.is_(None),
        )  # fmt: skip
        summary.undeliverable += _count(
            OutboxMessage, OutboxMessage.enrollment_id.in_(ids),
            OutboxMessage.failed_at >= start, OutboxMessage.failed_at < end,
        )  # fmt: skip
    return summary


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def run(period: str, now: datetime) -> str:
    """Queue the day's digests for one course (flush only); a summary with counts only."""
    course_id, day_text = period.split(":", 1)
    course = db.session.get(Course, int(course_id))
    if course is None:
        return "course gone"
    tz = ZoneInfo(course.timezone)
    day = date.fromisoformat(day_text)
    sent = skipped = 0
    coordinators = db.session.scalars(
        select(Coordinator).where(Coordinator.active.is_(True)).order_by(Coordinator.id)
    )
    for coordinator in coordinators:
        choice = frequency(coordinator)
        if choice == OFF or not can_see_course(coordinator, course):
            continue
        if choice == WEEKLY and day.weekday() != WEEKLY_ON:
            continue
        start, end = window(day, tz, 7 if choice == WEEKLY else 1)
        summary = summarize(coordinator, course, start, end)
        if not summary.anything_happened:
            skipped += 1
            continue
        _queue(coordinator, course, summary, choice, day, now)
        sent += 1
    return f"{sent} digests, {skipped} with nothing to tell"


def _queue(coordinator, course, summary: Summary, choice: str, day: date, now) -> None:
    queue_email(
        kind="digest",
        recipient=coordinator.email,
        template="digest/mail_digest",
        language="es",
        now=now,
        course_title=localized(course.title, "es"),
        weekly=choice == WEEKLY,
        day=day.isoformat(),
        registrations=sorted(summary.registrations.items()),
        total=sum(summary.registrations.values()),
        summary=summary,
    )
