"""The periodic jobs the worker runs, each once per period (see `courses.worker.schedule`).

To add one, write its `periods(now)` and `run(period, now)` (flush only) and list it here.
A job that reads a lot before it writes splits its work in two: `prepare(period, now)`, which
only reads and returns a plan of plain values, run without holding SQLite's write lock, and
`run(period, now, plan)`, which checks the plan against what changed since and writes it
(`Job(name, periods, run, prepare=prepare)`; the reminders do so).
"""

from __future__ import annotations

from courses.digest import job as digest
from courses.registration import notices
from courses.reminders import job as reminders
from courses.worker import retention
from courses.worker.schedule import Job

JOBS: list[Job] = [
    Job("reminders", reminders.periods, reminders.run, prepare=reminders.prepare),
    Job("digest", digest.periods, digest.run),
    Job("retention", retention.periods, retention.run),
    Job("edition-openings", notices.periods, notices.run),
]
