"""The periodic jobs the worker runs (see `courses.worker.schedule`). Add new ones here."""

from __future__ import annotations

from courses.worker.schedule import Job

JOBS: list[Job] = []
