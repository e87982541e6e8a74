"""Writing checked course files to the database (upsert by slug), and the demo edition.

Functions here only flush; the command that calls them commits once, so a refused load leaves
nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from courses.catalog.checker import CourseFileError, Problem
from courses.catalog.loader import CourseSpec
from courses.catalog.models import Course, Edition, Module
from courses.extensions import db
from courses.participants.models import ModuleCompletion, QuizAttempt


@dataclass(frozen=True)
class LoadResult:
    """What one course file did to the database: "created", "updated" or "unchanged"."""

    file: str
    slug: str
    outcome: str


def _assign(obj: object, values: dict) -> bool:
    """Set only the attributes that differ, so an unchanged file writes nothing."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def load_courses(specs: list[CourseSpec]) -> list[LoadResult]:
    """Create or update courses from checked course files (upsert by slug); flush only.

    Editions absent from a file are kept (they may have enrollments). Modules beyond the file's
    count are removed only when nobody has completed them; otherwise the whole load is refused.
    """
    results = []
    problems: list[Problem] = []
    for spec in specs:
        course = db.session.scalar(select(Course).where(Course.slug == spec.slug))
        created = course is None
        if created:
            course = Course(slug=spec.slug)
            db.session.add(course)
        changed = _assign(
            course,
            {
                "title": spec.title,
                "description": spec.description,
                "initiative": spec.initiative,
                "organizers": spec.organizers,
                "channel_url": spec.channel_url,
                "timezone": spec.timezone,
                "completion": spec.completion,
                "pass_mark": spec.pass_mark,
                "countries": spec.countries,
                "signatories": spec.signatories,
                "logos": spec.logos,
                "contacts": spec.contacts,
                "questions": spec.questions,
            },
        )
        changed |= _load_modules(course, spec, problems)
        changed |= _load_editions(course, spec)
        outcome = "created" if created else ("updated" if changed else "unchanged")
        results.append(LoadResult(spec.file, spec.slug, outcome))
    if problems:
        raise CourseFileError(problems)
    db.session.flush()
    return results


def keep_sources(specs: list[CourseSpec]) -> None:
    """Keep each loaded file's text on its course, for download from the coordinator pages."""
    for spec in specs:
        course = db.session.scalar(select(Course).where(Course.slug == spec.slug))
        text = Path(spec.file).read_text(encoding="utf-8")
        if course is not None and course.source_toml != text:
            course.source_toml = text
    db.session.flush()


def _load_modules(course: Course, spec: CourseSpec, problems: list[Problem]) -> bool:
    changed = False
    by_position = {m.position: m for m in course.modules}
    for module_spec in spec.modules:
        module = by_position.get(module_spec.position)
        if module is None:
            module = Module(position=module_spec.position)
            course.modules.append(module)
            changed = True
        changed |= _assign(
            module,
            {
                "title": module_spec.title,
                "description": module_spec.description,
                "video_url": module_spec.video_url,
                "minutes": module_spec.minutes,
                "questions": module_spec.questions,
            },
        )
    for position, module in sorted(by_position.items()):
        if position <= len(spec.modules):
            continue
        if module.id is not None and _module_in_use(module):
            problems.append(
                Problem(
                    spec.file,
                    "modules",
                    f"module {position} of {spec.slug!r} has completions or quiz attempts; "
                    "it cannot be removed (keep at least "
                    f"{max(by_position)} modules)",
                )
            )
            continue
        course.modules.remove(module)
        changed = True
    return changed


def _module_in_use(module: Module) -> bool:
    """Whether someone completed or attempted this module (then it must stay)."""
    for model in (ModuleCompletion, QuizAttempt):
        used = db.session.scalar(select(model.id).where(model.module_id == module.id).limit(1))
        if used is not None:
            return True
    return False


def _load_editions(course: Course, spec: CourseSpec) -> bool:
    changed = False
    by_slug = {e.slug: e for e in course.editions}
    for edition_spec in spec.editions:
        edition = by_slug.get(edition_spec.slug)
        if edition is None:
            edition = Edition(slug=edition_spec.slug)
            course.editions.append(edition)
            changed = True
        changed |= _assign(
            edition,
            {
                "registration_opens": edition_spec.registration_opens,
                "registration_closes": edition_spec.registration_closes,
                "complete_by": edition_spec.complete_by,
                "capacity": edition_spec.capacity,
                "name": edition_spec.name,
            },
        )
    return changed


DEMO_SLUG = "demo"
BUNDLED_COURSE = "pesca-acuicultura"
#: The demo edition stays open this long after the day it is refreshed.
DEMO_WEEKS = 6


def refresh_demo_edition(now: datetime, course_slug: str = BUNDLED_COURSE) -> tuple[Edition, str]:
    """Create or refresh the open demo edition, closing at the end of the day 6 weeks ahead.

    Returns the edition and "created", "updated" or "unchanged". Other editions are untouched.
    Raises LookupError when the course is not loaded.
    """
    course = db.session.scalar(select(Course).where(Course.slug == course_slug))
    if course is None:
        raise LookupError(course_slug)
    tz = ZoneInfo(course.timezone)
    last_day = now.astimezone(tz).date() + timedelta(weeks=DEMO_WEEKS)
    closes = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    edition = next((e for e in course.editions if e.slug == DEMO_SLUG), None)
    outcome = "unchanged"
    if edition is None:
        edition = Edition(slug=DEMO_SLUG)
        course.editions.append(edition)
        outcome = "created"
    # No opening date: open from now on; unlimited places.
    values = {"registration_opens": None, "registration_closes": closes, "complete_by": None}
    values["name"] = {"es": "Edición de demostración", "en": "Demo edition"}
    if _assign(edition, values | {"capacity": 0}) and outcome == "unchanged":
        outcome = "updated"
    if not course.contacts:
        # So a newcomer sees where contacts appear; `courses load` of the real file (which
        # has none) takes them away again. example.org: nobody real is ever written to.
        course.contacts = demo_contacts(course.countries)
        outcome = "updated" if outcome == "unchanged" else outcome
    db.session.flush()
    return edition, outcome


def demo_contacts(countries: list[str]) -> list[dict]:
    """One clearly fictitious contact per country, on example.org, for the demo."""
    return [
        {
            "country": code,
            "name": {
                "es": f"Contacto de ejemplo {code} (ficticio)",
                "en": f"Example contact {code} (fictitious)",
            },
            "email": f"ayuda.{code.lower()}@example.org",
            "whatsapp": None,
        }
        for code in countries
    ]
