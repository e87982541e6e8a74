"""Operator commands: `db backup PATH`, `privacy purge --before DATE`, `privacy erase EMAIL`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from courses.clock import now
from courses.extensions import db
from courses.ops.backup import BackupError, backup_sqlite, sqlite_path
from courses.ops.privacy import PrivacyError, erase_person, purge_before


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH while the application keeps running."""
    try:
        source = sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"])
        pages = backup_sqlite(source, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up {source} to {path} ({pages} pages, integrity ok).")


@click.group("privacy")
def privacy_cli() -> None:
    """Erase personal data: after the retention period, or when a person asks."""


def _parse_date(ctx, param, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2024-01-31.") from None


@privacy_cli.command("purge")
@click.option(
    "--before",
    "before",
    required=True,
    callback=_parse_date,
    help="Erase enrollments created before this day (YYYY-MM-DD, UTC).",
)
@with_appcontext
def purge_command(before: date) -> None:
    """Erase personal data of every enrollment created before DATE; counts stay."""
    cutoff = datetime.combine(before, time.min, tzinfo=UTC)
    try:
        counts = purge_before(cutoff, now())
    except PrivacyError as error:
        raise click.ClickException(str(error)) from None
    _audit("privacy.purge", None, before=before.isoformat(), **counts)
    db.session.commit()
    click.echo(
        f"Erased personal data of {counts['enrollments']} enrollment(s) created before "
        f"{before.isoformat()}; deleted {counts['messages']} old e-mail(s)."
    )


@privacy_cli.command("erase")
@click.argument("email")
@click.option("--edition", "edition", default=None, help="Only in COURSE/EDITION.")
@with_appcontext
def erase_command(email: str, edition: str | None) -> None:
    """Erase one person's personal data on their request (every edition unless --edition)."""
    try:
        erased, messages = erase_person(email, now(), edition)
    except PrivacyError as error:
        raise click.ClickException(str(error)) from None
    if not erased and not messages:
        db.session.rollback()
        raise click.ClickException("No enrollment with that e-mail address; nothing was erased.")
    # The audit entry names the rows, never the address that was erased.
    target = f"enrollment:{erased[0]}" if len(erased) == 1 else None
    _audit("privacy.erase", target, enrollments=erased, edition=edition, messages=messages)
    db.session.commit()
    ids = ", ".join(str(i) for i in erased) or "none"
    click.echo(
        f"Erased personal data of {len(erased)} enrollment(s) (ids {ids}); "
        f"deleted {messages} other e-mail(s)."
    )


def _audit(action: str, target: str | None, **details) -> None:
    """Record the operation in the coordinators' audit log."""
    try:
        from courses.coordination.services import record
    except ImportError:  # the coordination feature is not installed: write the entry directly
        from courses.coordination.models import AuditEntry

        db.session.add(AuditEntry(actor="cli", action=action, target=target, details=details))
        db.session.flush()
        return
    record("cli", action, target, **details)
