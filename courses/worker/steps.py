"""What the worker does each turn, in order: the one place where background work is registered.

To add background work (webhook deliveries, a one-off notification job…), write a class with
a `name` and a `run(worker) -> bool` method (True when more is waiting right now; see
`courses.worker.loop.Step`) and add it to `steps()` below; a job that runs once per period
(daily, weekly…) goes in `courses.worker.jobs.JOBS` instead.
"""

from __future__ import annotations

from courses.worker.loop import Step


def steps() -> list[Step]:
    """The worker's steps, built fresh for each worker process."""
    from courses.api.worker import WebhookDeliveries
    from courses.mail.worker import MailDelivery
    from courses.worker.checkpoint import Checkpoint
    from courses.worker.jobs import JOBS
    from courses.worker.schedule import Scheduler

    return [
        Checkpoint(),  # first: it only starts its thread, which the mail step must not delay
        MailDelivery(),
        WebhookDeliveries(),
        Scheduler(JOBS),
    ]
