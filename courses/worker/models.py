"""What the scheduler remembers: which job ran for which period (one row each, ever)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from courses.database import UTCDateTime
from courses.extensions import db


class JobRun(db.Model):
    """One run of a scheduled job for one period; the unique key makes it once per period.

    The row is inserted in the same transaction as the job's effects (the e-mails it queues,
    the data it erases): a second worker trying the same period waits for that transaction and
    then fails on the key, and a run that crashed leaves no row, so the period is tried again.
    """

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The job's name ("reminders", "digest", "retention").
    job: Mapped[str] = mapped_column(String(80))
    #: Which period: a local date, an ISO week, a course and a date… as the job defines it.
    period: Mapped[str] = mapped_column(String(120))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: What it did, in a few words (counts only: no personal data).
    summary: Mapped[str | None] = mapped_column(Text)
