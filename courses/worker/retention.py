"""The retention job: `privacy purge` on the schedule the configuration sets (off by default).

`PRIVACY_PURGE_AFTER_DAYS` (0: off) erases, once a day at 03:00 UTC, the personal data of
every enrollment created more than that many days before, exactly as
`flask --app wsgi privacy purge --before DATE` does, and writes the same audit entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import current_app

from courses.ops.privacy import purge_before

#: UTC hour from which the day's purge runs (a quiet hour in the Americas).
RUN_HOUR_UTC = 3


def after_days() -> int:
    return int(current_app.config.get("PRIVACY_PURGE_AFTER_DAYS") or 0)


def periods(now: datetime) -> list[str]:
    """Today's UTC date once 03:00 UTC has passed, when retention is configured."""
    moment = now.astimezone(UTC)
    if after_days() <= 0 or moment.hour < RUN_HOUR_UTC:
        return []
    return [moment.date().isoformat()]


def run(period: str, now: datetime) -> str:
    """Erase what is older than the retention period (flush only); counts only."""
    from courses.coordination.services import record

    day = datetime.fromisoformat(period).date() - timedelta(days=after_days())
    cutoff = datetime.combine(day, time.min, tzinfo=UTC)
    counts = purge_before(cutoff, now)
    record("system", "privacy.purge", None, before=day.isoformat(), **counts)
    return f"{counts['enrollments']} enrollments erased, {counts['messages']} messages deleted"
