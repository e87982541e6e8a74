"""`flask --app wsgi api token EMAIL [--name NAME] [--expires YYYY-MM-DD]` and
`flask --app wsgi api webhooks-send`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, time

import click
from flask.cli import AppGroup
from sqlalchemy import select

from courses import clock
from courses.api import tokens
from courses.api.delivery import deliver_due_webhooks
from courses.coordination.models import Coordinator
from courses.coordination.services import record
from courses.extensions import db

api_cli = AppGroup("api", help="The API for partner systems.")


@api_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option(
    "--expires",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day the token works (UTC), e.g. 2027-06-30.",
)
def token_command(email: str, name: str, expires: datetime | None) -> None:
    """Create an API token for the coordinator EMAIL and print it (only this once)."""
    now = clock.now()
    coordinator = db.session.scalar(
        select(Coordinator).where(Coordinator.email == email.strip().lower())
    )
    if coordinator is None or not coordinator.active:
        click.echo(f"Error: no active coordinator account {email}.", err=True)
        sys.exit(1)
    # The whole last day counts: the token stops at the midnight that ends it.
    expires_at = (
        datetime.combine(expires.date(), time.max, tzinfo=UTC) if expires is not None else None
    )
    try:
        row, token = tokens.create_token(coordinator, name, expires_at=expires_at, now=now)
    except tokens.TokenError as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    record("cli", "api.token.create", f"api_token:{row.id}", name=row.name, owner=email)
    db.session.commit()
    click.echo(token)
    click.echo(
        f"Token {row.id} ({row.name}) for {coordinator.email}: shown once, store it now.",
        err=True,
    )


@api_cli.command("webhooks-send")
@click.option("--limit", default=1000, show_default=True, help="At most this many deliveries.")
def webhooks_send_command(limit: int) -> None:
    """Send every webhook delivery whose time has come; failures wait for their retry."""
    counts = deliver_due_webhooks(clock.now(), limit)
    click.echo(
        f"webhooks: {counts['delivered']} delivered, {counts['failed']} failed (will retry), "
        f"{counts['given_up']} given up"
    )
