"""Who gets which reminder on which day. Pure functions of the facts and `now`.

- **Deadline**: a week before the last day to complete (`complete_by`, in the course's time
  zone) to everyone not yet complete, and a last call two days before.
- **Nudge**: after 14 days without completing any module (counted from the registration when
  none was completed), once per such stretch: completing a module starts a new stretch.
- **Never more than one a week**: a deadline reminder or a nudge is skipped when any reminder
  went out in the previous 7 days. Only the last call, two days before the end, is sent anyway:
  it is the one that still makes a difference.
- **Never** after completion, to people on the waiting list, after withdrawal or erasure, after
  the deadline, or once the person has asked to stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

#: Kinds of reminder (the outbox `kind`).
DEADLINE = "reminder-deadline"
LAST_CALL = "reminder-last-call"
NUDGE = "reminder-nudge"
KINDS = (DEADLINE, LAST_CALL, NUDGE)

DEADLINE_DAYS_BEFORE = 7
LAST_CALL_DAYS_BEFORE = 2
NUDGE_AFTER = timedelta(days=14)
AT_MOST_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class Progress:
    """What the rules need to know about one enrollment."""

    #: Registered (not waiting, not withdrawn), not erased.
    active: bool
    done: int
    total: int
    registered_at: datetime
    last_module_at: datetime | None
    last_reminder_at: datetime | None
    stopped: bool


def last_day(complete_by: datetime, tz: ZoneInfo) -> date:
    """The last local day on which modules may be completed (`complete_by` is the instant after)."""
    return (complete_by - timedelta(microseconds=1)).astimezone(tz).date()


def reminder_for(
    progress: Progress, complete_by: datetime | None, tz: ZoneInfo, now: datetime
) -> str | None:
    """The reminder `progress` gets today (one of KINDS), or None."""
    if not progress.active or progress.stopped or progress.done >= progress.total:
        return None
    if complete_by is not None and now >= complete_by:
        return None
    recent = (
        progress.last_reminder_at is not None and now - progress.last_reminder_at < AT_MOST_EVERY
    )
    if complete_by is not None:
        days_left = (last_day(complete_by, tz) - now.astimezone(tz).date()).days
        if days_left == LAST_CALL_DAYS_BEFORE:
            return LAST_CALL
        if days_left == DEADLINE_DAYS_BEFORE:
            return None if recent else DEADLINE
    active_since = progress.last_module_at or progress.registered_at
    nudged_this_stretch = (
        progress.last_reminder_at is not None and progress.last_reminder_at >= active_since
    )
    if now - active_since >= NUDGE_AFTER and not nudged_this_stretch and not recent:
        return NUDGE
    return None
