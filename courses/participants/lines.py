"""The personal page's enrollment, edition and course as plain values, read in one Core statement.

`/my/<token>` is the page people come back to, on every visit and from every reminder. Built as
ORM objects (the enrollment joined to its edition and course), the look-up was three tenths of
the page's CPU: identity map, instance state, the joined eager loader, the course's JSON texts
decoded again on each visit. These values carry the attribute names the page's rules read
(`is_waiting`, `accepts_completions`, `edition.course.timezone`…), and the rules themselves are
the models' own, not copies. Everything that writes (the first visit's confirmation) or needs
more (a certificate's documents) loads the ORM objects it needs, by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from courses.catalog.lines import shared
from courses.catalog.models import Course, Edition
from courses.certificates.services import current_certificate_id
from courses.database import plain_rows
from courses.extensions import db
from courses.participants.services import link_hash
from courses.registration.models import Enrollment

_ENROLLMENT = Enrollment.__table__.c
_EDITION = Edition.__table__.c
_COURSE = Course.__table__.c

# Built once at import: the statement keeps its compiled form's cache key.
_HOME_LINES = (
    select(
        _ENROLLMENT.id,
        _ENROLLMENT.edition_id,
        _ENROLLMENT.name,
        _ENROLLMENT.status,
        _ENROLLMENT.locale,
        _ENROLLMENT.country,
        _ENROLLMENT.created_at,
        _ENROLLMENT.confirmed_at,
        _ENROLLMENT.completed_at,
        _ENROLLMENT.withdrawn_at,
        current_certificate_id(_ENROLLMENT.id),
        _EDITION.slug,
        _EDITION.complete_by,
        _COURSE.id,
        shared(_COURSE.title),
        _COURSE.timezone,
        _COURSE.completion,
        _COURSE.pass_mark,
        shared(_COURSE.contacts),
    )
    .select_from(
        Enrollment.__table__.join(Edition.__table__).join(
            Course.__table__, _EDITION.course_id == _COURSE.id
        )
    )
    # Erased data opens nothing, as for `enrollment_by_token`.
    .where(_ENROLLMENT.token_hash == bindparam("hash"), _ENROLLMENT.erased_at.is_(None))
)


@dataclass(eq=False)
class CourseLine:
    """What the personal page reads of the course (as `Edition.course`)."""

    id: int
    title: dict
    timezone: str
    completion: str
    pass_mark: int
    contacts: list


@dataclass(eq=False)
class EditionLine:
    """What the personal page reads of the edition (as `Enrollment.edition`)."""

    slug: str
    complete_by: datetime | None
    course: CourseLine

    # The model's own rule, not a copy: it reads only `complete_by`.
    accepts_completions = Edition.accepts_completions


@dataclass(eq=False)
class EnrollmentLine:
    """What the personal page reads of the enrollment, with its edition and course."""

    id: int
    edition_id: int
    name: str
    status: str
    locale: str
    country: str
    created_at: datetime
    confirmed_at: datetime | None
    completed_at: datetime | None
    withdrawn_at: datetime | None
    #: The current certificate's id (`current_certificate`), None before one is issued.
    certificate_id: int | None
    edition: EditionLine

    is_waiting = Enrollment.is_waiting
    is_withdrawn = Enrollment.is_withdrawn


def home_lines(token: str) -> EnrollmentLine | None:
    """The enrollment a personal link opens, as plain values; None as `enrollment_by_token`."""
    hashed = link_hash(token)
    if hashed is None:
        return None
    row = plain_rows(db.session, _HOME_LINES, {"hash": hashed}).first()
    if row is None:
        return None
    course = CourseLine(*row[13:])
    return EnrollmentLine(*row[:11], edition=EditionLine(row[11], row[12], course))
