"""The daily reminders job: once a day per edition, at 10:00 in the course's time zone.

Its period is "<edition id>:<local date>"; the scheduler runs each period once across every
worker (`courses.worker.schedule`). The rules are in `rules.py`. The job has two phases:

- `prepare` only reads, so on SQLite it holds up no registration however long it takes: it
  gathers the facts in one query per edition, decides with the rules and renders every message
  (in the person's language, with a one-click way to stop them).
- `run` writes, in the scheduler's short transaction: it reads again, in one query, who may
  still get a reminder and with what progress. Whoever stopped reminders, completed the course,
  withdrew or was erased since the prepare gets nothing (a stop is honoured at once); whoever
  completed a module meanwhile is decided and rendered again; the rest are queued with one
  bulk insert (`mail.services.queue_prepared`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, func, select

from courses.catalog.models import Course, Edition, Module
from courses.extensions import db
from courses.i18n import format_deadline, localized
from courses.mail.models import OutboxMessage
from courses.mail.services import PreparedEmail, prepare_email, queue_prepared, render_emails
from courses.participants.models import ModuleCompletion
from courses.registration import tokens
from courses.registration.models import REGISTERED, Enrollment
from courses.reminders import rules
from courses.reminders.models import ReminderStop
from courses.urls import public_url, public_url_builder

#: Local hour from which the day's reminders go out.
SEND_HOUR = 10
#: Editions without a deadline get nudges this long after registrations close.
NUDGES_FOR = timedelta(days=180)
TEMPLATE = "reminders/mail_reminder"
_STOP_SALT = "reminders-stop"
#: Enrollment ids per query when only some people's facts are read again.
_IDS_PER_QUERY = 500


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


def _stop_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_STOP_SALT)


def stop_token(enrollment_id: int) -> str:
    """The signed token of an enrollment's stop-reminders link (no personal data in it)."""
    return _stop_serializer().dumps(enrollment_id)


def enrollment_for_stop_token(token: str) -> int | None:
    """The enrollment id a stop token was made for, or None if it is not one of ours."""
    try:
        value = _stop_serializer().loads(token)
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


@dataclass(frozen=True)
class EditionFacts:
    """What every reminder of one edition shares, read once."""

    id: int
    slug: str
    title: str | dict
    timezone: str
    complete_by: datetime | None
    #: The course's number of modules.
    total: int


@dataclass(frozen=True)
class Person:
    """One enrollment that could get a reminder: what its message needs, and its progress."""

    enrollment_id: int
    email: str
    name: str
    locale: str
    token_salt: str
    progress: rules.Progress


@dataclass(frozen=True)
class Planned:
    """A reminder rendered by the read phase, with the progress it was decided on."""

    message: PreparedEmail
    done: int
    last_module_at: datetime | None


@dataclass(frozen=True)
class Plan:
    """What `prepare` hands to `run`: plain values only (its transaction has ended)."""

    #: None: the edition is gone.
    edition: EditionFacts | None
    reminders: tuple[Planned, ...] = ()


def edition_facts(edition_id: int) -> EditionFacts | None:
    """The edition's shared facts, or None when it is gone."""
    total = select(func.count(Module.id)).where(Module.course_id == Course.id).scalar_subquery()
    row = db.session.execute(
        select(Edition.id, Edition.slug, Course.title, Course.timezone, Edition.complete_by, total)
        .join(Course)
        .where(Edition.id == edition_id)
    ).one_or_none()
    return None if row is None else EditionFacts(*row)


def _may_get_one(edition_id: int) -> tuple:
    """Registered (not waiting, not withdrawn), not erased, not complete, not stopped."""
    return (
        Enrollment.edition_id == edition_id,
        Enrollment.status == REGISTERED,
        Enrollment.erased_at.is_(None),
        Enrollment.completed_at.is_(None),
        ReminderStop.enrollment_id.is_(None),
    )


def _with_progress(*columns) -> Select:
    """`columns` of those who may get a reminder, with their modules done and the last one's
    instant. Grouped by enrollment over a join, never a join to a grouped subquery: on
    PostgreSQL with stale statistics (after a bulk import) that became a nested loop that
    grouped the whole table once per person, minutes for 100,000."""
    return (
        select(
            *columns,
            func.count(ModuleCompletion.id).label("done"),
            func.max(ModuleCompletion.completed_at).label("last_at"),
        )
        .outerjoin(ModuleCompletion, ModuleCompletion.enrollment_id == Enrollment.id)
        .outerjoin(ReminderStop, ReminderStop.enrollment_id == Enrollment.id)
        .group_by(Enrollment.id)
    )


def facts(edition: EditionFacts, only: Sequence[int] | None = None) -> list[Person]:
    """Every enrollment of `edition` that could get a reminder (or those of `only`), by id."""
    last_reminder = (
        select(func.max(OutboxMessage.created_at))
        .where(
            OutboxMessage.enrollment_id == Enrollment.id,
            OutboxMessage.kind.in_(rules.KINDS),
        )
        .correlate(Enrollment)
        .scalar_subquery()
        .label("reminded_at")
    )
    query = (
        _with_progress(
            Enrollment.id,
            Enrollment.email,
            Enrollment.name,
            Enrollment.locale,
            Enrollment.token_salt,
            Enrollment.created_at,
            last_reminder,
        )
        .where(*_may_get_one(edition.id))
        .order_by(Enrollment.id)
    )
    if only is None:
        rows = db.session.execute(query).all()
    else:
        ids = sorted(only)
        rows = []
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            rows += db.session.execute(query.where(Enrollment.id.in_(chunk))).all()
    return [
        Person(
            row.id,
            row.email,
            row.name,
            row.locale,
            row.token_salt,
            rules.Progress(
                active=True,
                done=row.done,
                total=edition.total,
                registered_at=row.created_at,
                last_module_at=row.last_at,
                last_reminder_at=row.reminded_at,
                stopped=False,  # those who stopped are not in the query
            ),
        )
        for row in rows
    ]


def prepare(period: str, now: datetime) -> Plan:
    """The read phase: who gets which reminder today, every message rendered (reads only)."""
    edition = edition_facts(int(period.split(":", 1)[0]))
    if edition is None:
        return Plan(None)
    return Plan(edition, tuple(_decide(edition, facts(edition), now)))


def run(period: str, now: datetime, plan: Plan) -> str:
    """The write phase: queue the plan's reminders that still hold (flush only); counts only."""
    edition = edition_facts(int(period.split(":", 1)[0]))
    if edition is None:
        return "edition gone"
    if edition != plan.edition:  # its dates or modules changed meanwhile: decide afresh
        plan = Plan(edition, tuple(_decide(edition, facts(edition), now)))
    current = _progress_now(edition.id)
    messages: list[PreparedEmail] = []
    again: list[int] = []
    for planned in plan.reminders:
        enrollment_id = planned.message.enrollment_id
        if enrollment_id not in current:
            continue  # stopped, completed, withdrew, was erased or merged since the prepare
        if current[enrollment_id] == (planned.done, planned.last_module_at):
            messages.append(planned.message)
        else:
            again.append(enrollment_id)  # completed (or undid) a module meanwhile
    if again:
        messages += [planned.message for planned in _decide(edition, facts(edition, again), now)]
        messages.sort(key=lambda message: message.enrollment_id or 0)
    queue_prepared(messages, now)
    sent = Counter(message.kind for message in messages)
    return ", ".join(f"{count} {kind}" for kind, count in sorted(sent.items())) or "none due"


def _progress_now(edition_id: int) -> dict[int, tuple[int, datetime | None]]:
    """Who may get a reminder now, with (modules done, last completed at): one query."""
    query = _with_progress(Enrollment.id).where(*_may_get_one(edition_id))
    return {row.id: (row.done, row.last_at) for row in db.session.execute(query)}


def _decide(edition: EditionFacts, people: list[Person], now: datetime) -> list[Planned]:
    """The reminders `people` get today, rendered, in enrollment order."""
    tz = ZoneInfo(edition.timezone)
    due = [
        (person, kind)
        for person in people
        if (kind := rules.reminder_for(person.progress, edition.complete_by, tz, now))
    ]
    days_left = None
    if edition.complete_by is not None:
        days_left = (rules.last_day(edition.complete_by, tz) - now.astimezone(tz).date()).days
    by_language: dict[str, list[tuple[Person, str]]] = defaultdict(list)
    for person, kind in due:
        by_language[person.locale].append((person, kind))
    # Built once per job rather than once per message: thousands of messages.
    serializer = _stop_serializer()
    stop_url = public_url_builder("reminders.stop_page")
    personal_url = public_url_builder("participants.home")
    planned = []
    for language, group in by_language.items():
        course_title = localized(edition.title, language)
        deadline = None
        if edition.complete_by is not None:
            deadline = format_deadline(edition.complete_by, edition.timezone, language)
        links = [stop_url(token=serializer.dumps(person.enrollment_id)) for person, _ in group]
        contexts = [
            {
                "reminder": kind,
                "name": person.name,
                "course_title": course_title,
                "edition_label": edition.slug,
                "done": person.progress.done,
                "total": person.progress.total,
                "left": person.progress.total - person.progress.done,
                "deadline": deadline,
                "days_left": days_left,
                "link": personal_url(token=tokens.token_for(person.token_salt)),
                "stop_link": link,
            }
            for (person, kind), link in zip(group, links, strict=True)
        ]
        rendered = render_emails(TEMPLATE, language, contexts)
        for (person, kind), link, message in zip(group, links, rendered, strict=True):
            email = prepare_email(
                kind=kind,
                recipient=person.email,
                rendered=message,
                enrollment_id=person.enrollment_id,
                headers={
                    # RFC 2369 and RFC 8058: mail programs show a one-click "unsubscribe".
                    "List-Unsubscribe": f"<{link}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            )
            planned.append(Planned(email, person.progress.done, person.progress.last_module_at))
    planned.sort(key=lambda item: item.message.enrollment_id or 0)
    return planned
