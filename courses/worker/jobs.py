"""The periodic jobs the worker runs, each once per period (see `courses.worker.schedule`).

To add one, write its `periods(now)` and `run(period, now)` (flush only) and list it here.
"""

from __future__ import annotations

from courses.digest import job as digest
from courses.registration import notices
from courses.reminders import job as reminders
from courses.worker import retention
from courses.worker.schedule import Job

JOBS: list[Job] = [
    Job("reminders", reminders.periods, reminders.run),
    Job("digest", digest.periods, digest.run),
    Job("retention", retention.periods, retention.run),
    Job("edition-openings", notices.periods, notices.run),
]
