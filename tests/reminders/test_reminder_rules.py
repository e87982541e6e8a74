"""Who gets which reminder on which day, in the course's time zone, and who never does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from courses.reminders.rules import DEADLINE, LAST_CALL, NUDGE, Progress, reminder_for

SANTIAGO = ZoneInfo("America/Santiago")
#: Modules may be completed until Saturday 30 September 2023 inclusive, Santiago time.
COMPLETE_BY = datetime(2023, 10, 1, tzinfo=SANTIAGO)
REGISTERED_AT = datetime(2023, 9, 10, 14, 0, tzinfo=UTC)


def local(day: int, hour: int = 10, month: int = 9) -> datetime:
    return datetime(2023, month, day, hour, 30, tzinfo=SANTIAGO)


def person(**changes) -> Progress:
    base = Progress(
        active=True,
        done=2,
        total=6,
        registered_at=REGISTERED_AT,
        last_module_at=datetime(2023, 9, 20, tzinfo=UTC),
        last_reminder_at=None,
        stopped=False,
    )
    return replace(base, **changes)


def rule(progress: Progress, now: datetime, complete_by=COMPLETE_BY) -> str | None:
    return reminder_for(progress, complete_by, SANTIAGO, now)


def test_a_week_before_the_last_day_and_two_days_before_it():
    assert rule(person(), local(23)) == DEADLINE
    assert rule(person(), local(24)) is None
    assert rule(person(), local(28)) == LAST_CALL
    # The last call goes even though the week's reminder went five days earlier.
    assert rule(person(last_reminder_at=local(23)), local(28)) == LAST_CALL


def test_days_are_counted_in_the_course_time_zone():
    # 22 September, 22:30 in Santiago is already the 23rd in UTC: not yet a week before.
    evening = datetime(2023, 9, 22, 22, 30, tzinfo=SANTIAGO)
    assert evening.astimezone(UTC).day == 23
    assert rule(person(), evening) is None
    assert rule(person(), local(23, hour=0)) == DEADLINE


def test_never_more_than_one_reminder_a_week():
    nudged = person(last_module_at=None, registered_at=datetime(2023, 8, 1, tzinfo=UTC))
    # Nudged three days before the week's reminder: that one is skipped.
    assert rule(replace(nudged, last_reminder_at=local(20)), local(23)) is None
    assert rule(replace(nudged, last_reminder_at=local(16)), local(23)) == DEADLINE


def test_a_nudge_after_14_days_without_a_module_once_per_stretch():
    no_deadline = None
    since = datetime(2023, 8, 1, 14, 0, tzinfo=UTC)
    quiet = person(last_module_at=since)
    assert rule(quiet, since + timedelta(days=13), no_deadline) is None
    assert rule(quiet, since + timedelta(days=14), no_deadline) == NUDGE
    # Nudged once: not again while nothing happens.
    nudged = replace(quiet, last_reminder_at=since + timedelta(days=14))
    assert rule(nudged, since + timedelta(days=40), no_deadline) is None
    # A module completed starts a new stretch: 14 days later, a new nudge.
    again = replace(nudged, done=3, last_module_at=since + timedelta(days=20))
    assert rule(again, since + timedelta(days=33), no_deadline) is None
    assert rule(again, since + timedelta(days=34), no_deadline) == NUDGE
    # Nobody who never completed a module counts from the registration.
    fresh = person(done=0, last_module_at=None, registered_at=since)
    assert rule(fresh, since + timedelta(days=14), no_deadline) == NUDGE


def test_never_after_completion_withdrawal_erasure_stop_or_deadline():
    assert rule(person(done=6), local(23)) is None
    assert rule(person(active=False), local(23)) is None  # waiting, withdrawn or erased
    assert rule(person(stopped=True), local(28)) is None
    after = datetime(2023, 10, 1, 10, 0, tzinfo=SANTIAGO)
    assert rule(person(last_module_at=None, registered_at=REGISTERED_AT), after) is None
