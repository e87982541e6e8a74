"""`flask --app wsgi courses …`: load course files, list them, open the demo edition."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask.cli import AppGroup
from sqlalchemy import select

from courses import clock
from courses.catalog import services, upsert
from courses.catalog.checker import CourseFileError
from courses.catalog.loader import read_course_files
from courses.catalog.models import Course, Edition
from courses.extensions import db
from courses.registration import notices

courses_cli = AppGroup("courses", help="Course files and editions.")


@courses_cli.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def load_command(paths: tuple[Path, ...]) -> None:
    """Create or update courses from course files (TOML); all or nothing."""
    try:
        specs = read_course_files(list(paths))
        results = upsert.load_courses(specs)
    except CourseFileError as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo(f"Refused: nothing was loaded ({len(error.problems)} problem(s)).", err=True)
        sys.exit(1)
    upsert.keep_sources(specs)
    db.session.commit()
    for result in results:
        click.echo(f"{result.slug}: {result.outcome} ({result.file})")


@courses_cli.command("list")
def list_command() -> None:
    """Courses, their editions, registration windows (course time) and counts."""
    now = clock.now()
    courses = db.session.scalars(select(Course).order_by(Course.slug)).all()
    if not courses:
        click.echo("No courses loaded.")
        return
    for course in courses:
        click.echo(f"{course.slug}  ({course.timezone}, {len(course.modules)} modules)")
        for edition in course.editions:
            click.echo("  " + _edition_line(edition, now))


def _edition_line(edition: Edition, now: datetime) -> str:
    """ "2023: until 2023-07-21 23:59 America/Santiago, closed, registered 3, waiting 0"."""
    timezone = edition.course.timezone
    tz = ZoneInfo(timezone)
    window = "until " + services.last_open_minute(edition).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if edition.registration_opens:
        window = "from {} {}".format(
            edition.registration_opens.astimezone(tz).strftime("%Y-%m-%d %H:%M"), window
        )
    counts = services.enrollment_counts(edition)
    capacity = f" of {edition.capacity}" if edition.capacity else ""
    return (
        f"{edition.slug}: {window} {timezone}, {edition.state(now)}, "
        f"registered {counts['registered']}{capacity}, waiting {counts['waiting']}"
    )


@courses_cli.command("demo")
def demo_command() -> None:
    """Create or refresh the open demo edition ("demo") of the bundled course."""
    now = clock.now()
    try:
        edition, outcome = upsert.refresh_demo_edition(now)
    except LookupError:
        click.echo(
            f"The course {upsert.BUNDLED_COURSE!r} is not loaded; run "
            "`flask --app wsgi courses load courses/catalog/*.toml` first.",
            err=True,
        )
        sys.exit(1)
    db.session.commit()
    click.echo(f"{edition.course.slug} {outcome} {_edition_line(edition, now)}")


@courses_cli.command("notify-openings")
def notify_openings_command() -> None:
    """E-mail, once, everyone who asked to be told when a course opens ("avísame")."""
    sent = notices.notify_openings(clock.now())
    db.session.commit()
    click.echo(f"{sent} message(s) queued")
