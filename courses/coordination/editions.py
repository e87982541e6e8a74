"""Changing an edition's dates and capacity, and giving freed places to the waiting list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select

from courses.catalog.checker import SLUG
from courses.catalog.models import Course, Edition
from courses.extensions import db
from courses.registration import seats
from courses.registration.models import REGISTERED, Enrollment
from courses.registration.services import promote_waiting


class EditionError(ValueError):
    """A change an edition cannot take; `field` names the form field it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class EditionChange:
    before: dict[str, object]
    after: dict[str, object]
    promoted: list[int]


def start_of_day(day: date, timezone: str) -> datetime:
    """The first instant of `day` in the course's time zone."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


def end_of_day(day: date, timezone: str) -> datetime:
    """The first instant after `day` (an inclusive last day becomes this exclusive limit)."""
    return start_of_day(day + timedelta(days=1), timezone)


def last_day(instant: datetime | None, timezone: str) -> date | None:
    """The inclusive last local day of an exclusive limit (the form shows days)."""
    if instant is None:
        return None
    return (instant.astimezone(ZoneInfo(timezone)) - timedelta(microseconds=1)).date()


def first_day(instant: datetime | None, timezone: str) -> date | None:
    if instant is None:
        return None
    return instant.astimezone(ZoneInfo(timezone)).date()


def form_days(edition: Edition) -> dict[str, object]:
    """An edition's limits as the local days its settings form shows (closing days inclusive)."""
    timezone = edition.course.timezone
    return {
        "registration_opens": first_day(edition.registration_opens, timezone),
        "registration_closes": last_day(edition.registration_closes, timezone),
        "complete_by": last_day(edition.complete_by, timezone),
        "capacity": edition.capacity,
    }


def snapshot(edition: Edition) -> dict[str, object]:
    return {
        "registration_opens": edition.registration_opens,
        "registration_closes": edition.registration_closes,
        "complete_by": edition.complete_by,
        "capacity": edition.capacity,
    }


def _limits(
    opens: date | None, closes: date, complete_by: date | None, capacity: int, timezone: str
) -> tuple[datetime | None, datetime, datetime | None]:
    """The local days as instants (opening, exclusive close, exclusive complete-by), checked."""
    new_opens = start_of_day(opens, timezone) if opens else None
    new_closes = end_of_day(closes, timezone)
    new_complete_by = end_of_day(complete_by, timezone) if complete_by else None
    if new_opens is not None and new_opens >= new_closes:
        raise EditionError(
            "registration_opens", _("La apertura debe ser antes del último día de inscripción.")
        )
    if new_complete_by is not None and new_complete_by < new_closes:
        raise EditionError(
            "complete_by",
            _("El último día para completar no puede ser antes del cierre de inscripciones."),
        )
    if capacity < 0:
        raise EditionError("capacity", _("Los cupos deben ser 0 o más."))
    return new_opens, new_closes, new_complete_by


def create_edition(
    course: Course,
    *,
    slug: str,
    opens: date | None,
    closes: date,
    complete_by: date | None,
    capacity: int,
) -> Edition:
    """A new edition of `course`, its days read in the course's time zone (flush only).

    The slug follows the course files' rule (lower-case letters, digits and single dashes) so
    a course file can name the edition later; EditionError names the field at fault.
    """
    slug = (slug or "").strip()
    if not SLUG.match(slug) or len(slug) > 80:
        raise EditionError(
            "slug", _("Usa solo minúsculas, números y guiones, por ejemplo 2027 o 2027-b.")
        )
    if db.session.scalar(
        select(Edition.id).where(Edition.course_id == course.id, Edition.slug == slug)
    ):
        raise EditionError("slug", _("Ya existe una edición %(slug)s de este curso.", slug=slug))
    new_opens, new_closes, new_complete_by = _limits(
        opens, closes, complete_by, capacity, course.timezone
    )
    edition = Edition(
        course_id=course.id,
        slug=slug,
        registration_opens=new_opens,
        registration_closes=new_closes,
        complete_by=new_complete_by,
        capacity=capacity,
    )
    db.session.add(edition)
    db.session.flush()
    return edition


def registered_count(edition: Edition) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(
                Enrollment.edition_id == edition.id, Enrollment.status == REGISTERED
            )
        )
        or 0
    )


def update_edition(
    edition: Edition,
    *,
    opens: date | None,
    closes: date,
    complete_by: date | None,
    capacity: int,
    now: datetime,
) -> EditionChange:
    """Apply new local days and capacity; promote waiting people into any freed places."""
    new_opens, new_closes, new_complete_by = _limits(
        opens, closes, complete_by, capacity, edition.course.timezone
    )
    seats.hold_seats(edition)  # no registration takes a seat while the capacity changes
    holding = registered_count(edition)
    if capacity and capacity < holding:
        raise EditionError(
            "capacity",
            _(
                "Ya hay %(n)s personas con cupo: los cupos no pueden ser menos que eso.",
                n=holding,
            ),
        )
    before = snapshot(edition)
    edition.registration_opens = new_opens
    edition.registration_closes = new_closes
    edition.complete_by = new_complete_by
    edition.capacity = capacity
    db.session.flush()
    seats.fit_to_capacity(edition)
    promoted = promote_waiting(edition, now)
    return EditionChange(before, snapshot(edition), [e.id for e in promoted])
