"""Periodic jobs, exactly once per period across every worker on every host.

A job says which periods are due at an instant (`periods(now)`: e.g. today's date once 08:00
has passed in a course's time zone) and does the work of one period (`run(period, now)`,
flush only). `run_once` inserts the (job, period) row first and commits it together with the
work: the database's unique key, not a Python check, decides who runs it.

A job that reads at length before it writes (the reminders: 100,000 people, 30,000 messages)
also has a read phase, `prepare(period, now) -> plan`, and then `run(period, now, plan)`.
`run_once` calls `prepare` in a transaction that only reads and is then ended (on SQLite a
plain BEGIN: it holds up nobody, however long it takes), and only then opens the writing one,
which takes SQLite's write lock for the short time it needs: it looks again whether the period
has run, inserts the row and calls `run`, which checks the plan against what changed meanwhile
and writes it. Two workers may both prepare; only one writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from courses import clock, database
from courses.extensions import db
from courses.worker.models import JobRun

log = logging.getLogger(__name__)

#: How often the worker looks for due periods (seconds).
CHECK_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class Job:
    """A periodic job: its name, the periods due at `now`, and the work of one period."""

    name: str
    periods: Callable[[datetime], Iterable[str]]
    #: `run(period, now)`, flush only; `run(period, now, plan)` when the job has `prepare`.
    run: Callable[..., str | None]
    #: The optional read phase, `prepare(period, now) -> plan`: it must only read, and its
    #: plan hold plain values (no ORM objects: its transaction ends before `run`).
    prepare: Callable[[str, datetime], Any] | None = None


def has_run(job: str, period: str) -> bool:
    return (
        db.session.scalar(select(JobRun.id).where(JobRun.job == job, JobRun.period == period))
        is not None
    )


def run_once(job: Job, period: str, now: datetime) -> bool:
    """Run `job` for `period` unless it already ran; whether this call ran it. Commits.

    It opens transactions of its own (call it with none open, as the worker does): first a
    read, which takes no lock, for the look at whether the period ran and the job's `prepare`;
    then the writing one, for `run`.
    """
    with database.read_only():
        try:
            # Most looks find the period done already: that answer costs no write lock either.
            if has_run(job.name, period):
                return False
            plan = job.prepare(period, now) if job.prepare is not None else None
        finally:
            db.session.rollback()  # it only read: nothing to keep
    if has_run(job.name, period):  # another worker ran it while this one prepared
        db.session.rollback()
        return False
    record = JobRun(job=job.name, period=period, ran_at=now)
    try:
        db.session.add(record)
        db.session.flush()  # PostgreSQL: waits here while another worker holds the same key
    except IntegrityError:
        db.session.rollback()
        return False
    try:
        if job.prepare is None:
            record.summary = job.run(period, now)
        else:
            record.summary = job.run(period, now, plan)
        db.session.commit()
    except Exception:
        db.session.rollback()  # no row left: the period is tried again later
        raise
    log.info("job %s ran for %s: %s", job.name, period, record.summary or "done")
    return True


def run_due(
    jobs: Sequence[Job], now: datetime, stopping: Callable[[], bool] = lambda: False
) -> int:
    """Run every due period of every job that has not run yet; how many ran."""
    ran = 0
    for job in jobs:
        with database.read_only():  # looking for due periods only reads
            due = list(job.periods(now))
            db.session.rollback()
        for period in due:
            if stopping():
                return ran
            try:
                ran += run_once(job, period, now)
            except Exception:
                log.exception("job %s failed for %s", job.name, period)
    return ran


class Scheduler:
    """The worker's step for periodic jobs: looks for due periods every half minute."""

    name = "schedule"

    def __init__(self, jobs: Sequence[Job]) -> None:
        self.jobs = list(jobs)
        self._next_check = 0.0

    def run(self, worker) -> bool:
        if not self.jobs or time.monotonic() < self._next_check:
            return False
        self._next_check = time.monotonic() + CHECK_EVERY_SECONDS
        run_due(self.jobs, clock.now(), stopping=lambda: worker.stopping)
        return False
