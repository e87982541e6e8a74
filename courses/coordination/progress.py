"""How an edition is going: the cumulative funnel, completion rate, seats, deadlines and the
people who have done nothing for a while. Everything counts only what the coordinator may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, select

from courses.catalog.models import Edition
from courses.coordination.editions import registered_count
from courses.coordination.models import Coordinator
from courses.coordination.services import scoped_enrollments
from courses.extensions import db
from courses.participants.models import ModuleCompletion
from courses.registration.models import REGISTERED, WAITING, Enrollment

#: The funnel's steps; each counts the people who reached it or went further.
STEPS = ("registered", "opened", "started", "completed", "certified")
#: States (services.STATUSES) that have reached each step.
_REACHED = {
    "registered": (
        "registered",
        "confirmed",
        "in_progress",
        "completed",
        "certified",
        "waiting",
        "withdrawn",
    ),
    "opened": ("confirmed", "in_progress", "completed", "certified"),
    "started": ("in_progress", "completed", "certified"),
    "completed": ("completed", "certified"),
    "certified": ("certified",),
}
#: Nothing done for this long and not finished: someone should call.
INACTIVE_DAYS = 14


def funnel(by_status: dict[str, int]) -> dict[str, int]:
    """{step: people who reached it}, from the count of people in each state."""
    return {step: sum(by_status.get(s, 0) for s in _REACHED[step]) for step in STEPS}


def completion_rate(steps: dict[str, int], by_status: dict[str, int]) -> float | None:
    """Completed among those with a place (not the waiting list, nor those who left)."""
    placed = steps["registered"] - by_status.get("waiting", 0) - by_status.get("withdrawn", 0)
    return steps["completed"] / placed if placed > 0 else None


@dataclass(frozen=True)
class Seats:
    capacity: int  # 0 = unlimited
    taken: int
    waiting: int

    @property
    def free(self) -> int | None:
        return None if not self.capacity else max(self.capacity - self.taken, 0)


def seats(edition: Edition) -> Seats:
    """The edition's seats as a whole (places are shared by every country)."""
    waiting = db.session.scalar(
        select(func.count()).where(
            Enrollment.edition_id == edition.id, Enrollment.status == WAITING
        )
    )
    return Seats(edition.capacity or 0, registered_count(edition), waiting or 0)


def days_left(limit: datetime | None, now: datetime, timezone: str) -> int | None:
    """Whole local days from today to the last day before `limit` (an exclusive end): 0 means
    today is the last day, negative means it has passed. None without a limit."""
    if limit is None:
        return None
    zone = ZoneInfo(timezone)
    last_day = (limit.astimezone(zone) - timedelta(microseconds=1)).date()
    return (last_day - now.astimezone(zone).date()).days


def inactive(coordinator: Coordinator, edition: Edition, now: datetime) -> Select:
    """People with a place who have not finished and did nothing for INACTIVE_DAYS days,
    the quietest first. A select of Enrollment rows with their `last_activity`."""
    latest_module = (
        select(func.max(ModuleCompletion.completed_at))
        .where(ModuleCompletion.enrollment_id == Enrollment.id)
        .scalar_subquery()
    )
    confirmed = func.coalesce(Enrollment.confirmed_at, Enrollment.created_at)
    # The latest of the instants, written so SQLite and PostgreSQL agree (SQLite has no
    # GREATEST, PostgreSQL no two-argument max()).
    module = func.coalesce(latest_module, confirmed)
    last = case((module > confirmed, module), else_=confirmed)
    cutoff = now - timedelta(days=INACTIVE_DAYS)
    return (
        scoped_enrollments(coordinator, edition)
        .add_columns(last.label("last_activity"))
        .where(
            Enrollment.status == REGISTERED,
            Enrollment.completed_at.is_(None),
            Enrollment.erased_at.is_(None),
            last < cutoff,
        )
        .order_by(last, Enrollment.id)
    )
