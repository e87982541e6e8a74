"""The daily reminders job: once a day per edition, at 10:00 in the course's time zone.

Its period is "<edition id>:<local date>"; the scheduler runs each period once across every
worker (`courses.worker.schedule`). The rules are in `rules.py`; this module gathers the facts
in one query per edition and queues the e-mails (in the person's language, with a one-click
way to stop them).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from courses.catalog.models import Course, Edition
from courses.extensions import db
from courses.i18n import format_deadline, localized
from courses.mail.models import OutboxMessage
from courses.mail.services import queue_email
from courses.participants.models import ModuleCompletion
from courses.registration import tokens
from courses.registration.models import REGISTERED, Enrollment
from courses.reminders import rules
from courses.reminders.models import ReminderStop
from courses.urls import public_url

#: Local hour from which the day's reminders go out.
SEND_HOUR = 10
#: Editions without a deadline get nudges this long after registrations close.
NUDGES_FOR = timedelta(days=180)
_STOP_SALT = "reminders-stop"


def periods(now: datetime) -> list[str]:
    """The periods due at `now`: each edition still running, once 10:00 local has passed."""
    due = []
    editions = db.session.execute(
        select(Edition.id, Course.timezone, Edition.complete_by, Edition.registration_closes)
        .join(Course)
        .order_by(Edition.id)
    ).all()
    for edition_id, timezone, complete_by, closes in editions:
        if complete_by is not None and complete_by <= now:
            continue
        if complete_by is None and closes + NUDGES_FOR <= now:
            continue
        local = now.astimezone(ZoneInfo(timezone))
        if local.hour >= SEND_HOUR:
            due.append(f"{edition_id}:{local.date().isoformat()}")
    return due


def stop_token(enrollment_id: int) -> str:
    """The signed token of an enrollment's stop-reminders link (no personal data in it)."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_STOP_SALT).dumps(enrollment_id)


def enrollment_for_stop_token(token: str) -> int | None:
    """The enrollment id a stop token was made for, or None if it is not one of ours."""
    try:
        value = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_STOP_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def stop_link(enrollment_id: int) -> str:
    return public_url("reminders.stop_page", token=stop_token(enrollment_id))


def stop(enrollment_id: int, now: datetime) -> None:
    """Stop the reminders of an enrollment (flush only); asking twice changes nothing."""
    if db.session.get(ReminderStop, enrollment_id) is None:
        if db.session.get(Enrollment, enrollment_id) is not None:
            db.session.add(ReminderStop(enrollment_id=enrollment_id, stopped_at=now))
            db.session.flush()


def facts(edition: Edition) -> list[tuple[Enrollment, rules.Progress]]:
    """Every enrollment of `edition` that could get a reminder, with its progress."""
    done = (
        select(
            ModuleCompletion.enrollment_id,
            func.count(ModuleCompletion.id).label("done"),
            func.max(ModuleCompletion.completed_at).label("last_at"),
        )
        .group_by(ModuleCompletion.enrollment_id)
        .subquery()
    )
    reminded = (
        select(OutboxMessage.enrollment_id, func.max(OutboxMessage.created_at).label("at"))
        .where(OutboxMessage.kind.in_(rules.KINDS))
        .group_by(OutboxMessage.enrollment_id)
        .subquery()
    )
    query = (
        select(Enrollment, done.c.done, done.c.last_at, reminded.c.at, ReminderStop.stopped_at)
        .outerjoin(done, done.c.enrollment_id == Enrollment.id)
        .outerjoin(reminded, reminded.c.enrollment_id == Enrollment.id)
        .outerjoin(ReminderStop, ReminderStop.enrollment_id == Enrollment.id)
        .where(
            Enrollment.edition_id == edition.id,
            Enrollment.status == REGISTERED,
            Enrollment.erased_at.is_(None),
            Enrollment.completed_at.is_(None),
        )
        .order_by(Enrollment.id)
    )
    total = len(edition.course.modules)
    found = []
    for enrollment, count, last_at, reminded_at, stopped_at in db.session.execute(query):
        progress = rules.Progress(
            active=True,
            done=count or 0,
            total=total,
            registered_at=enrollment.created_at,
            last_module_at=last_at,
            last_reminder_at=reminded_at,
            stopped=stopped_at is not None,
        )
        found.append((enrollment, progress))
    return found


def run(period: str, now: datetime) -> str:
    """Queue the day's reminders of one edition (flush only); a summary with counts only."""
    edition = db.session.get(Edition, int(period.split(":", 1)[0]))
    if edition is None:
        return "edition gone"
    tz = ZoneInfo(edition.course.timezone)
    sent: Counter[str] = Counter()
    for enrollment, progress in facts(edition):
        kind = rules.reminder_for(progress, edition.complete_by, tz, now)
        if kind is None:
            continue
        _queue(enrollment, progress, kind, now)
        sent[kind] += 1
    return ", ".join(f"{count} {kind}" for kind, count in sorted(sent.items())) or "none due"


def _queue(enrollment: Enrollment, progress: rules.Progress, kind: str, now: datetime) -> None:
    edition = enrollment.edition
    course = edition.course
    language = enrollment.locale
    link = stop_link(enrollment.id)
    deadline = None
    days_left = None
    if edition.complete_by is not None:
        deadline = format_deadline(edition.complete_by, course.timezone, language)
        tz = ZoneInfo(course.timezone)
        days_left = (rules.last_day(edition.complete_by, tz) - now.astimezone(tz).date()).days
    queue_email(
        kind=kind,
        recipient=enrollment.email,
        template="reminders/mail_reminder",
        language=language,
        now=now,
        enrollment_id=enrollment.id,
        headers={
            # RFC 2369 and RFC 8058: mail programs show a one-click "unsubscribe".
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        reminder=kind,
        name=enrollment.name,
        course_title=localized(course.title, language),
        edition_label=edition.slug,
        done=progress.done,
        total=progress.total,
        left=progress.total - progress.done,
        deadline=deadline,
        days_left=days_left,
        link=tokens.personal_link(tokens.token_for(enrollment.token_salt)),
        stop_link=link,
    )
