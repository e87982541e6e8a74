"""`flask --app wsgi outbox send`: deliver queued mail whose time has come."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from courses import clock
from courses.mail import services

outbox_cli = AppGroup("outbox", help="The queue of outgoing e-mail.")


@outbox_cli.command("send")
@click.option("--limit", default=1000, show_default=True, help="At most this many messages.")
def send(limit: int) -> None:
    """Deliver due messages, one transaction each; failures stay queued with a retry time."""
    now = clock.now()
    ids = services.due_message_ids(now, limit)
    counts = services.deliver_each(((message_id, None) for message_id in ids), now)
    click.echo(
        f"outbox: {counts[services.SENT]} sent, {counts[services.FAILED]} failed "
        f"(queued for retry), {counts[services.SKIPPED]} skipped; "
        f"{services.pending_count()} still queued"
    )
