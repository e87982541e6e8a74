"""`flask --app wsgi coordinators create …` and `flask --app wsgi enrollments export …`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from courses import clock
from courses.catalog.models import Course, Edition
from courses.coordination import exports, listing, services
from courses.coordination.models import ROLES, Coordinator
from courses.extensions import db

coordinators_cli = AppGroup("coordinators", help="Coordinator accounts.")
enrollments_cli = AppGroup("enrollments", help="Enrollee lists.")


def _read_password() -> str:
    """From standard input when it is not a terminal (scripts), else asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@coordinators_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="admin, course or country")
@click.option(
    "--course",
    "course_slugs",
    multiple=True,
    help="Course slug (role course); repeat it to assign several courses.",
)
@click.option("--country", help="ISO 3166-1 alpha-2 code (role country), e.g. PE.")
def create_command(
    email: str, role: str, course_slugs: tuple[str, ...], country: str | None
) -> None:
    """Create a coordinator account; the password is read from stdin when piped."""
    now = clock.now()
    try:
        # Options first, so a typo in --course is reported before asking for a password.
        services.check_account_options(email, role, course_slugs, country)
        password = _read_password()
        coordinator = services.create_coordinator(
            email, password, role, course_slug=course_slugs, country=country, now=now
        )
    except services.CoordinatorError as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    services.record(
        "cli",
        "coordinator.create",
        f"coordinator:{coordinator.id}",
        email=coordinator.email,
        role=role,
        courses=[course.slug for course in coordinator.courses],
        country=coordinator.country,
    )
    db.session.commit()
    click.echo(f"Created {coordinator.email} ({role}).")


@enrollments_cli.command("export")
@click.argument("target", metavar="COURSE/EDITION")
@click.option("--format", "kind", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option(
    "--sep",
    type=click.Choice(["comma", "semicolon"]),
    default="comma",
    help="CSV separator (semicolon for Excel in Spanish).",
)
@click.option("--country", default="", help="Only enrollees of this country (e.g. PE).")
@click.option("--status", default="", type=click.Choice(("", *services.STATUSES)))
def export_command(
    target: str, kind: str, output: str, sep: str, country: str, status: str
) -> None:
    """Export an edition's enrollees, the same file as the coordinators' download."""
    course_slug, _, edition_slug = target.partition("/")
    edition = db.session.scalar(
        select(Edition)
        .join(Edition.course)
        .where(Course.slug == course_slug, Edition.slug == edition_slug)
    )
    if edition is None:
        click.echo(f"Error: no edition {target!r} (expected COURSE/EDITION).", err=True)
        sys.exit(1)
    # The command line acts with full access, like an admin; it is audited as "cli".
    everyone = Coordinator(role="admin", email="cli")
    filters = listing.ListFilters.from_args({"country": country, "status": status})
    stmt = listing.filtered(everyone, edition, filters)
    rows = listing.count(stmt)
    formatter = exports.RowFormatter(edition)
    with open(output, "wb") as handle:
        if kind == "csv":
            for chunk in exports.csv_chunks(stmt, formatter, ";" if sep == "semicolon" else ","):
                handle.write(chunk)
        else:
            exports.write_xlsx(stmt, formatter, handle)
    services.record(
        "cli",
        f"export.{kind}",
        f"edition:{edition.id}",
        course=course_slug,
        edition=edition_slug,
        filters=filters.described(),
        rows=rows,
        file=output,
    )
    db.session.commit()
    click.echo(f"Wrote {rows} enrollees to {output}.")
