"""Reading and checking course files (TOML) before anything reaches the database.

`read_course_files` parses and validates every file of one load and raises `CourseFileError`
listing every problem as "FILE: KEY: REASON". Keys number modules, questions and editions from
1, the way coordinators count them ("modules[3].title"). The shared checks are in
`checker.py`; modules and editions in `sections.py`; contacts and questions in `extra_keys.py`;
signatories and logos in `branding.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale

from courses.catalog import branding, sections
from courses.catalog.checker import Checker, CourseFileError, Problem, read_toml
from courses.catalog.extra_keys import parse_contacts, parse_questions
from courses.catalog.models import COMPLETION_RULES
from courses.catalog.sections import EditionSpec, ModuleSpec

#: Babel lists a few regions that are not ISO 3166-1 countries; they are not accepted.
NOT_COUNTRIES = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB"}
NOT_COUNTRIES |= {"XK", "ZZ"}
COUNTRY_CODES = frozenset(
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
)

#: Every top-level key of a course file, in the order of the file (and of an upload's preview).
COURSE_KEYS = (
    "slug",
    "title",
    "description",
    "initiative",
    "organizers",
    "channel_url",
    "timezone",
    "completion",
    "pass_mark",
    "countries",
    "modules",
    "editions",
    # Certificates (branding.py)
    "signatories",
    "logos",
    "contacts",
    "questions",
)


@dataclass
class CourseSpec:
    """A checked course file, ready to be written."""

    file: str
    slug: str
    title: dict
    description: dict
    initiative: dict
    organizers: list
    channel_url: str | None
    timezone: str
    completion: str
    pass_mark: int
    countries: list
    modules: list[ModuleSpec] = field(default_factory=list)
    editions: list[EditionSpec] = field(default_factory=list)
    signatories: list[dict] = field(default_factory=list)
    logos: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    questions: list[dict] = field(default_factory=list)


def parse_course_file(path: Path) -> tuple[CourseSpec | None, list[Problem]]:
    """Read and check one course file; the spec is None when there are problems."""
    check = Checker(str(path))
    data = read_toml(path, check)
    if data is None:
        return None, check.problems
    check.unknown_keys(data, COURSE_KEYS, "")
    slug = check.slug(data, "slug")
    title = check.text(data, "title", "title", required=True)

    timezone = data.get("timezone")
    tz = None
    if timezone is None:
        check.fail("timezone", "missing; it is required (an IANA name such as America/Santiago)")
    elif not isinstance(timezone, str) or timezone not in available_timezones():
        check.fail(
            "timezone", f"unknown time zone {timezone!r}; use an IANA name such as America/Santiago"
        )
    else:
        tz = ZoneInfo(timezone)

    completion = data.get("completion", "self")
    if completion not in COMPLETION_RULES:
        check.fail("completion", f"{completion!r} is not one of self, quiz, coordinator")
    pass_mark = check.integer(data, "pass_mark", "pass_mark", 0, 100)

    countries = data.get("countries")
    if not isinstance(countries, list) or not countries:
        check.fail("countries", 'must be a non-empty list of ISO codes such as ["CL", "PE"]')
        countries = []
    for index, code in enumerate(countries, start=1):
        if not isinstance(code, str) or code not in COUNTRY_CODES:
            check.fail(
                f"countries[{index}]",
                f"unknown country code {code!r} (ISO 3166-1 alpha-2, upper case, e.g. CL)",
            )
    if len(set(map(str, countries))) != len(countries):
        check.fail("countries", "a country is listed twice")

    organizers = data.get("organizers", [])
    if not isinstance(organizers, list):
        check.fail("organizers", "must be a list")
        organizers = []
    # Names of organisations stay plain strings when given so (other features join them as
    # text); a table of languages is kept as one, like every other text.
    organizers = [
        check.name(o, f"organizers[{i}]")
        if isinstance(o, str) and o.strip()
        else check.text({"o": o}, "o", f"organizers[{i}]", required=True)
        for i, o in enumerate(organizers, start=1)
    ]

    modules = sections.modules(data, check, completion)
    editions = sections.editions(data, check, tz)
    signatories = branding.signatories(check, data, path.parent)
    logos = branding.logos(check, data, path.parent)
    contacts = parse_contacts(data, check, [str(c) for c in countries])
    questions = parse_questions(data, check)
    if check.problems:
        return None, check.problems
    spec = CourseSpec(
        file=str(path),
        slug=slug,
        title=title,
        description=check.text(data, "description", "description"),
        initiative=check.text(data, "initiative", "initiative"),
        organizers=organizers,
        channel_url=check.url(data, "channel_url", "channel_url"),
        timezone=timezone,
        completion=completion,
        pass_mark=70 if pass_mark is None else pass_mark,
        countries=list(countries),
        modules=modules,
        editions=editions,
        signatories=signatories,
        logos=logos,
        contacts=contacts,
        questions=questions,
    )
    return (None, check.problems) if check.problems else (spec, [])


def read_course_files(paths: list[Path]) -> list[CourseSpec]:
    """Parse and check every file of one load; raise CourseFileError listing all problems."""
    problems: list[Problem] = []
    specs: list[CourseSpec] = []
    first_file: dict[str, str] = {}
    for path in paths:
        spec, found = parse_course_file(Path(path))
        problems.extend(found)
        if spec is None:
            continue
        if spec.slug in first_file:
            problems.append(
                Problem(
                    spec.file, "slug", f"course {spec.slug!r} is also in {first_file[spec.slug]}"
                )
            )
            continue
        first_file[spec.slug] = spec.file
        specs.append(spec)
    if problems:
        raise CourseFileError(problems)
    return specs
