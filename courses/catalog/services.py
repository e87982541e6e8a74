"""Catalogue rules: which edition is current, and the registration state in words.

Other features import `get_edition_or_404`, `current_edition` and `registration_state` so the
course page, the registration form and the confirmation all say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import abort
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import joinedload, selectinload

from courses.catalog.contacts import Contact, course_contacts
from courses.catalog.lines import CourseLines, EditionLine, course_lines, shared
from courses.catalog.models import Course, Edition, Module
from courses.database import plain_rows
from courses.extensions import db
from courses.i18n import (
    COUNTRY_TIMEZONES,
    country_name,
    format_day,
    format_deadline,
    localized,
    timezone_label,
)
from courses.registration.models import Enrollment

OPEN = "open"
UPCOMING = "upcoming"
CLOSED = "closed"

#: Catalogue order: open editions first, then upcoming, then closed.
STATE_ORDER = {OPEN: 0, UPCOMING: 1, CLOSED: 2}


@dataclass(frozen=True)
class RegistrationState:
    """An edition's registration state at one instant, in one language."""

    #: "open", "upcoming" or "closed".
    state: str
    #: The whole sentence: "Inscripciones abiertas hasta el viernes, 21 de julio de 2023, 23:59
    #: (hora de Chile)".
    sentence: str
    #: The last minute registrations are accepted, in the course's time: "viernes, 21 de julio
    #: de 2023, 23:59 (hora de Chile)".
    deadline_words: str
    #: The same deadline in the visitor's chosen country ("En Perú: …"), or None.
    deadline_in_country: str | None
    #: When registrations open, in the course's time, or None when no opening is set.
    opens_words: str | None
    #: Short label for a badge: "Abierta", "Próximamente", "Cerrada".
    label: str = ""


# The public pages' look-ups, built once: a statement object keeps its compiled form's cache
# key, so each request skips building the query and hashing it (a fifth of its cost).
_COURSE_BY_SLUG = (
    select(Course)
    .where(Course.slug == bindparam("course"))
    # Its pages always look at the editions: with the course, in one query.
    .options(joinedload(Course.editions))
)
_EDITION_BY_SLUGS = (
    select(Edition)
    .join(Course)
    .where(Course.slug == bindparam("course"), Edition.slug == bindparam("edition"))
    # The form and its confirmation show the course and look for its open edition: with the
    # edition, in one query.
    .options(joinedload(Edition.course).joinedload(Course.editions))
)
#: Every course with its editions, in two queries however many courses (not one per course).
_CATALOGUE = select(Course).order_by(Course.slug).options(selectinload(Course.editions))
#: What the course page lists of each module, as plain rows (no ORM objects to build). Of the
#: table's columns, not the mapped attributes: a Core statement skips the ORM's compile and
#: result steps (a third of the look-up).
_MODULE = Module.__table__.c
_MODULE_LINES = (
    select(
        _MODULE.position,
        shared(_MODULE.title),
        shared(_MODULE.description),
        _MODULE.minutes,
        _MODULE.video_url,
    )
    .where(_MODULE.course_id == bindparam("course"))
    .order_by(_MODULE.position)
)

#: The modules' titles alone, in order (what e-mails list).
_MODULE_TITLES = (
    select(shared(_MODULE.title))
    .where(_MODULE.course_id == bindparam("course"))
    .order_by(_MODULE.position)
)


def module_titles(course: Course | CourseLines) -> list[dict]:
    """The titles of `course`'s modules in order, {es, en} each (shared: read only).

    The modules already loaded if they are; else one Core statement of the titles, not the
    six ORM objects a lazy load builds (every registration's e-mail lists them)."""
    if isinstance(course, Course) and "modules" not in inspect(course).unloaded:
        return [module.title for module in course.modules]
    return list(plain_rows(db.session, _MODULE_TITLES, {"course": course.id}).scalars())


def get_course_or_404(course_slug: str) -> Course:
    """The course with this slug, or a 404."""
    course = db.session.scalar(_COURSE_BY_SLUG, {"course": course_slug})
    if course is None:
        abort(404)
    return course


def course_lines_or_404(course_slug: str) -> CourseLines:
    """The course page's course with this slug, as plain values (see `lines`), or a 404."""
    course = course_lines(course_slug)
    if course is None:
        abort(404)
    return course


def edition_lines_or_404(course_slug: str, edition_slug: str) -> EditionLine:
    """The edition `edition_slug` of course `course_slug` as plain values (see `lines`), its
    course's other editions beside it, or a 404: what the empty registration form reads."""
    course = course_lines_or_404(course_slug)
    edition = next((e for e in course.editions if e.slug == edition_slug), None)
    if edition is None:
        abort(404)
    return edition


def get_edition_or_404(course_slug: str, edition_slug: str) -> Edition:
    """The edition `edition_slug` of course `course_slug`, or a 404."""
    edition = db.session.scalar(_EDITION_BY_SLUGS, {"course": course_slug, "edition": edition_slug})
    if edition is None:
        abort(404)
    return edition


def current_edition(course: Course | CourseLines, now: datetime) -> Edition | EditionLine | None:
    """The open edition (closing soonest), else the next upcoming, else the last closed."""
    editions = list(course.editions)
    open_ = [e for e in editions if e.state(now) == OPEN]
    if open_:
        return min(open_, key=lambda e: e.registration_closes)
    upcoming = [e for e in editions if e.state(now) == UPCOMING]
    if upcoming:
        return min(upcoming, key=lambda e: e.registration_opens)
    if editions:
        return max(editions, key=lambda e: e.registration_closes)
    return None


def last_open_minute(edition: Edition | EditionLine) -> datetime:
    """The instant to show as the deadline: a midnight close reads as 23:59 the day before."""
    closes = edition.registration_closes
    local = closes.astimezone(ZoneInfo(edition.course.timezone))
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return closes - timedelta(minutes=1)
    return closes


def _moment_words(
    instant: datetime, timezone: str, language: str, country: str | None = None
) -> str:
    """A moment with its time zone: "viernes, 21 de julio de 2023, 23:59 (hora de Chile)"."""
    words = format_deadline(instant, timezone, language)
    return f"{words} ({timezone_label(timezone, language, country=country)})"


def _opens_words(instant: datetime, timezone: str, language: str) -> str:
    """When registrations open; a local midnight reads as the whole day, without a time."""
    local = instant.astimezone(ZoneInfo(timezone))
    if (local.hour, local.minute) == (0, 0):
        day = format_day(instant, timezone, language)
        return f"{day} ({timezone_label(timezone, language)})"
    return _moment_words(instant, timezone, language)


def registration_state(
    edition: Edition | EditionLine, now: datetime, language: str, country: str | None = None
) -> RegistrationState:
    """The state of `edition` at `now`, in words in `language`; `country` adds its local time."""
    code = (country or "").upper()
    return _state_in_words(
        edition.state(now),
        last_open_minute(edition),
        edition.registration_opens,
        edition.course.timezone,
        language,
        code if code in COUNTRY_TIMEZONES else None,
    )


# Every page of a course says the same few sentences; only the state (from the clock) and the
# edition's dates pick which, and all of them are in the key: a changed deadline is a new key.
@lru_cache(maxsize=512)
def _state_in_words(
    state: str,
    deadline: datetime,
    opens: datetime | None,
    timezone: str,
    language: str,
    country: str | None,
) -> RegistrationState:
    with force_locale(language):
        deadline_words = _moment_words(deadline, timezone, language)
        opens_words = _opens_words(opens, timezone, language) if opens is not None else None
        in_country = None
        if country is not None:
            in_country = _(
                "En %(country)s: %(moment)s",
                country=country_name(country, language),
                moment=_moment_words(
                    deadline, COUNTRY_TIMEZONES[country], language, country=country
                ),
            )
        if state == OPEN:
            sentence = _("Inscripciones abiertas hasta el %(deadline)s", deadline=deadline_words)
            label = _("Inscripciones abiertas")
        elif state == UPCOMING:
            sentence = _(
                "Las inscripciones abren el %(opens)s y cierran el %(deadline)s",
                opens=opens_words,
                deadline=deadline_words,
            )
            label = _("Próximamente")
        else:
            sentence = _("Las inscripciones cerraron el %(deadline)s", deadline=deadline_words)
            label = _("Inscripciones cerradas")
    return RegistrationState(
        state=state,
        sentence=str(sentence),
        deadline_words=deadline_words,
        deadline_in_country=str(in_country) if in_country is not None else None,
        opens_words=opens_words,
        label=str(label),
    )


@dataclass(frozen=True)
class CatalogueEntry:
    """One course on the catalogue, with its current edition's state."""

    course: Course
    edition: Edition | None
    title: str
    registration: RegistrationState | None


def catalogue(now: datetime, language: str) -> list[CatalogueEntry]:
    """Every course with its current edition: open first, then upcoming, then closed."""
    entries = []
    for course in db.session.scalars(_CATALOGUE):
        edition = current_edition(course, now)
        state = registration_state(edition, now, language) if edition else None
        entries.append(CatalogueEntry(course, edition, localized(course.title, language), state))

    def order(entry: CatalogueEntry) -> tuple:
        if entry.edition is None:
            return (3, 0.0, entry.title)
        rank = STATE_ORDER[entry.registration.state]
        if rank == 1:
            key = entry.edition.registration_opens.timestamp()
        elif rank == 0:
            key = entry.edition.registration_closes.timestamp()
        else:
            key = -entry.edition.registration_closes.timestamp()
        return (rank, key, entry.title)

    return sorted(entries, key=order)


def enrollment_counts(edition: Edition | EditionLine) -> dict[str, int]:
    """How many people are registered and waiting in `edition`."""
    rows = db.session.execute(
        select(Enrollment.status, func.count())
        .where(Enrollment.edition_id == edition.id)
        .group_by(Enrollment.status)
    )
    counts = {"registered": 0, "waiting": 0}
    counts.update({status: n for status, n in rows})
    return counts


def is_full(edition: Edition | EditionLine) -> bool:
    """Every seat is taken: new registrations go to the waiting list."""
    return edition.capacity > 0 and enrollment_counts(edition)["registered"] >= edition.capacity


def open_edition(course: Course | CourseLines, now: datetime) -> Edition | EditionLine | None:
    """The course's open edition closing soonest, or None."""
    open_ = [e for e in course.editions if e.state(now) == OPEN]
    return min(open_, key=lambda e: e.registration_closes) if open_ else None


@dataclass(frozen=True)
class ModuleView:
    number: int
    title: str
    description: str
    minutes: int | None
    video_url: str | None


@dataclass(frozen=True)
class EditionView:
    slug: str
    registration: RegistrationState
    #: Every seat taken: registrations go to the waiting list.
    full: bool = False


@dataclass(frozen=True)
class CoursePage:
    """Everything the course page shows, in one language, as plain values."""

    slug: str
    title: str
    description: str
    initiative: str
    organizers: list[str]
    channel_url: str | None
    modules: list[ModuleView]
    #: (code, localized name) of the countries offered, for the time-zone picker.
    countries: list[tuple[str, str]]
    current: EditionView | None
    others: list[EditionView]
    #: Whom to ask: the chosen country's contacts, or every country's.
    contacts: list[Contact]
    #: The organizers and the countries' names as the page lists them ("Chile, Perú"): joined
    #: here rather than by Jinja's map and join filters (34 calls a page).
    organizers_text: str = ""
    countries_text: str = ""


def course_page(
    course: CourseLines, now: datetime, language: str, country: str | None
) -> CoursePage:
    """The course page's content; `country` (one of the course's) adds the deadline there."""
    if country not in course.countries:
        country = None
    edition = current_edition(course, now)
    current = None
    if edition is not None:
        current = EditionView(
            edition.slug,
            registration_state(edition, now, language, country),
            full=edition.state(now) == OPEN and is_full(edition),
        )
    others = [
        EditionView(e.slug, registration_state(e, now, language))
        for e in sorted(course.editions, key=lambda e: e.registration_closes, reverse=True)
        if e is not edition
    ]
    organizers = [localized(o, language) for o in course.organizers]
    countries = [(code, country_name(code, language)) for code in course.countries]
    return CoursePage(
        slug=course.slug,
        title=localized(course.title, language),
        description=localized(course.description, language),
        initiative=localized(course.initiative, language),
        organizers=organizers,
        channel_url=course.channel_url,
        modules=[
            ModuleView(
                m.position,
                localized(m.title, language),
                localized(m.description, language),
                m.minutes,
                m.video_url,
            )
            for m in plain_rows(db.session, _MODULE_LINES, {"course": course.id})
        ],
        countries=countries,
        current=current,
        others=others,
        contacts=course_contacts(course, language, country),
        organizers_text=", ".join(organizers),
        countries_text=", ".join(name for _code, name in countries),
    )
