"""`flask --app wsgi outbox work|send|status`: the delivery worker, a one-off send, the backlog."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from courses import clock
from courses.mail import delivery, services

outbox_cli = AppGroup("outbox", help="The queue of outgoing e-mail.")


@outbox_cli.command("work")
@click.option(
    "--idle",
    default=5.0,
    show_default=True,
    help="Seconds between looks at the queue when nothing wakes the worker (PostgreSQL).",
)
def work(idle: float) -> None:
    """Deliver mail within seconds of its commit and run the scheduled jobs, until stopped.

    SIGTERM or Ctrl-C: the message in hand is finished, then the worker exits.
    """
    from courses.worker.loop import Worker
    from courses.worker.steps import steps

    worker = Worker(current_app._get_current_object(), steps(), idle_seconds=idle)
    worker.install_signal_handlers()
    worker.run()


@outbox_cli.command("send")
def send() -> None:
    """Deliver every pending message now, even those waiting for their retry time; then exit."""
    now = clock.now()
    outcome = delivery.deliver_all_pending(now)
    click.echo(
        f"outbox: {outcome.sent} sent, {outcome.failed} failed (queued for retry), "
        f"{outcome.given_up} given up; {services.pending_count()} still queued"
    )
    if outcome.released:
        click.echo(
            f"mail server unavailable ({outcome.server_error}); "
            f"{outcome.released} not tried, still queued",
            err=True,
        )
        sys.exit(1)


@outbox_cli.command("status")
def status() -> None:
    """How many messages wait, in which state, and how long the oldest due one has waited."""
    state = services.backlog(clock.now())
    oldest = "-" if state.oldest_due_seconds is None else f"{state.oldest_due_seconds} s"
    click.echo(
        f"outbox: {state.due} due, {state.waiting} waiting for a retry, "
        f"{state.in_flight} being sent, {state.given_up} given up; "
        f"oldest due message waiting {oldest}"
    )
