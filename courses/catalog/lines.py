"""The course page's (and the empty registration form's) course and editions as plain values,
read in one Core statement.

Both pages run on every public visit and only read. Built as ORM objects (the course joined
to its editions), the look-up was a third of the course page's database time and a fifth of
its CPU (a quarter of the form's): identity map, instance state, the joined eager loader, and
every JSON column decoded again. A Core statement of the columns the pages show skips all of
that; the rules (`Edition.state`, `current_edition`, `registration_state`) read the same
attribute names from these values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Text, bindparam, select, type_coerce
from sqlalchemy.types import TypeDecorator

from courses.catalog.models import Course, Edition
from courses.database import plain_rows
from courses.extensions import db

_COURSE = Course.__table__.c
_EDITION = Edition.__table__.c


class SharedJSON(TypeDecorator):
    """A JSON column read as one shared value per stored text: for read-only pages only.

    The course page decodes the same few texts on every visit (the course's on each of its
    editions' rows, the modules' titles): on SQLite, where the text arrives undecoded, each
    distinct text is decoded once per process. The values are shared between requests, so
    nobody may change them. PostgreSQL's driver hands JSON decoded already: passed through.
    """

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect) -> Any:
        if dialect.name == "sqlite" and isinstance(value, str):
            return _decoded(value)
        return value


@lru_cache(maxsize=512)
def _decoded(text: str) -> Any:
    return json.loads(text)


def shared(column):
    """`column` (a JSON column of a table) read through `SharedJSON`, under its own name."""
    return type_coerce(column, SharedJSON).label(column.name)


# Built once at import: the statement keeps its compiled form's cache key. One row per edition
# (an outer join, so a course without editions still gives its row), in the editions' order.
_COURSE_LINES = (
    select(
        _COURSE.id,
        _COURSE.slug,
        shared(_COURSE.title),
        shared(_COURSE.description),
        shared(_COURSE.initiative),
        shared(_COURSE.organizers),
        _COURSE.channel_url,
        _COURSE.timezone,
        shared(_COURSE.countries),
        shared(_COURSE.contacts),
        shared(_COURSE.questions),
        _COURSE.completion,
        _COURSE.pass_mark,
        _EDITION.id,
        _EDITION.slug,
        _EDITION.registration_opens,
        _EDITION.registration_closes,
        _EDITION.capacity,
        _EDITION.complete_by,
    )
    .select_from(Course.__table__.outerjoin(Edition.__table__))
    .where(_COURSE.slug == bindparam("course"))
    .order_by(_EDITION.registration_closes, _EDITION.id)
)


@dataclass(eq=False)
class CourseLines:
    """What the course page, the form and a registration read of a course, with its editions
    (as `Course.editions`)."""

    id: int
    slug: str
    title: dict
    description: dict
    initiative: dict
    organizers: list
    channel_url: str | None
    timezone: str
    countries: list
    contacts: list
    questions: list
    completion: str
    pass_mark: int
    editions: list[EditionLine] = field(default_factory=list)


@dataclass(eq=False)
class EditionLine:
    """What the course page, the form and a registration read of an edition; `course` as
    `Edition.course`."""

    id: int
    slug: str
    registration_opens: datetime | None
    registration_closes: datetime
    capacity: int
    complete_by: datetime | None
    course: CourseLines

    # The model's own rules, not copies: they read only the two dates. (`is_open` is a hybrid
    # method: its Python side, as `Edition.is_open` at class level is its SQL expression.)
    state = Edition.state
    is_open = Edition.__dict__["is_open"].func


#: Where a row's edition columns start: after one per field of `CourseLines` but its editions.
_EDITION_AT = len(fields(CourseLines)) - 1


def course_lines(course_slug: str) -> CourseLines | None:
    """The course with this slug and its editions, ordered by closing, or None."""
    rows = plain_rows(db.session, _COURSE_LINES, {"course": course_slug}).all()
    if not rows:
        return None
    first = rows[0]
    course = CourseLines(*first[:_EDITION_AT])
    course.editions = [
        EditionLine(*row[_EDITION_AT:], course=course)
        for row in rows
        if row[_EDITION_AT] is not None
    ]
    return course
