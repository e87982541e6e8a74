"""Reading and checking course files (TOML) before anything reaches the database.

`read_course_files` parses and validates every file of one load and raises `CourseFileError`
listing every problem as "FILE: KEY: REASON". Keys number modules, questions and editions from
1, the way coordinators count them ("modules[3].title").
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale

from courses.catalog import branding
from courses.catalog.extra_keys import parse_contacts, parse_questions
from courses.catalog.models import COMPLETION_RULES
from courses.registration.rules import ORGANIZATION_LENGTH, clean_name

LANGUAGES = ("es", "en")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Babel lists a few regions that are not ISO 3166-1 countries; they are not accepted.
NOT_COUNTRIES = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB"}
NOT_COUNTRIES |= {"XK", "ZZ"}
COUNTRY_CODES = frozenset(
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
)

COURSE_KEYS = {
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
}
MODULE_KEYS = {"title", "description", "video_url", "minutes", "questions"}
QUESTION_KEYS = {"text", "choices", "answer"}
EDITION_KEYS = {
    "slug",
    "name",
    "registration_opens",
    "registration_closes",
    "complete_by",
    "capacity",
}


@dataclass(frozen=True)
class Problem:
    """One reason a course file is refused."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


class CourseFileError(Exception):
    """A load was refused; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class ModuleSpec:
    position: int
    title: dict
    description: dict
    video_url: str | None
    minutes: int | None
    questions: list


@dataclass
class EditionSpec:
    slug: str
    registration_opens: datetime | None
    registration_closes: datetime
    complete_by: datetime | None
    capacity: int
    #: The edition's proper name as printed on certificates ({} = "Edición <slug>").
    name: dict = field(default_factory=dict)


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


class _Checker:
    """Collects the problems of one file instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def fail(self, key: str, reason: str) -> None:
        self.problems.append(Problem(self.file, key, reason))

    def unknown_keys(self, table: dict, allowed: set[str], prefix: str) -> None:
        for key in sorted(set(table) - allowed):
            self.fail(f"{prefix}{key}", "unknown key (check the spelling)")

    def text(self, table: dict, key: str, path: str, required: bool = False) -> dict:
        """A text: "…" or { es = "…", en = "…" }; stored as {"es": …, "en": …}."""
        value = table.get(key)
        if value is None:
            if required:
                self.fail(path, "missing; it is required")
            return {}
        if isinstance(value, str):
            value = {"es": value}
        if not isinstance(value, dict):
            self.fail(path, 'must be text or a table of languages { es = "…", en = "…" }')
            return {}
        result = {}
        for language, text in value.items():
            if language not in LANGUAGES:
                self.fail(f"{path}.{language}", "unknown language; use es or en")
            elif not isinstance(text, str) or not text.strip():
                self.fail(f"{path}.{language}", "must be non-empty text")
            else:
                result[language] = text.strip()
        if "es" not in value:
            self.fail(path, "needs the Spanish text (es)")
        elif required and not result.get("es"):
            return {}
        return result

    def name(self, value: object, path: str, longest: int = ORGANIZATION_LENGTH[1]) -> str:
        """A person's or organisation's name, under registration's one name rule (so nothing
        invisible or bidirectional reaches a page, an e-mail or a certificate)."""
        try:
            if not isinstance(value, str):
                raise ValueError
            return clean_name(value, longest=longest)
        except ValueError:
            self.fail(
                path,
                "not a usable name: no control or bidirectional characters, at least one letter, "
                f"2 to {longest} characters",
            )
            return value.strip() if isinstance(value, str) else ""

    def integer(self, table: dict, key: str, path: str, low: int, high: int | None = None):
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be a whole number")
            return None
        if value < low or (high is not None and value > high):
            limit = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.fail(path, f"{value} is out of range; it must be {limit}")
            return None
        return value

    def slug(self, table: dict, path: str) -> str:
        value = table.get("slug")
        if value is None:
            self.fail(path, "missing; it is required")
            return ""
        if not isinstance(value, str) or not SLUG.match(value) or len(value) > 80:
            self.fail(
                path,
                f"{value!r} is not URL-safe; use lower-case letters, digits and single hyphens",
            )
            return ""
        return value

    def url(self, table: dict, key: str, path: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not re.match(r"^https?://\S+$", value):
            self.fail(path, "must be a web address starting with https://")
            return None
        return value

    def instant(self, table: dict, key: str, path: str, tz: ZoneInfo | None, end_of_day: bool):
        """A TOML date, local date-time or offset date-time, as an aware instant."""
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                return value
            return value.replace(tzinfo=tz) if tz else None
        if isinstance(value, date):
            if tz is None:
                return None
            # A date D closes at the midnight that ends D (D is included); it opens at its start.
            day = value + timedelta(days=1) if end_of_day else value
            return datetime.combine(day, time(0), tzinfo=tz)
        self.fail(
            path,
            "bad date; write a TOML date such as 2023-07-21 or 2023-07-21T18:00:00 "
            "(without quotes)",
        )
        return None


def _read_toml(path: Path, checker: _Checker) -> dict | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        checker.fail("(file)", f"cannot be read: {error.strerror or error}")
    except UnicodeDecodeError:
        checker.fail("(file)", "is not UTF-8 text")
    except tomllib.TOMLDecodeError as error:
        checker.fail(_key_at(path, str(error)), f"not valid TOML: {error}")
    return None


def _key_at(path: Path, message: str) -> str:
    """The key on the line a TOML error points at, so the message names it."""
    match = re.search(r"at line (\d+)", message)
    if not match:
        return "(syntax)"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    number = int(match.group(1))
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    if "=" in line:
        return line.split("=", 1)[0].strip()
    return f"line {number}"


def parse_course_file(path: Path) -> tuple[CourseSpec | None, list[Problem]]:
    """Read and check one course file; the spec is None when there are problems."""
    check = _Checker(str(path))
    data = _read_toml(path, check)
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

    modules = _modules(data, check, completion)
    editions = _editions(data, check, tz)
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


def _modules(data: dict, check: _Checker, completion: Any) -> list[ModuleSpec]:
    raw = data.get("modules")
    if not isinstance(raw, list) or not raw:
        check.fail("modules", "the course needs at least one [[modules]] entry")
        return []
    modules = []
    for position, module in enumerate(raw, start=1):
        path = f"modules[{position}]"
        if not isinstance(module, dict):
            check.fail(path, "must be a [[modules]] table")
            continue
        check.unknown_keys(module, MODULE_KEYS, f"{path}.")
        questions = _questions(module, check, path)
        if completion == "quiz" and not questions:
            check.fail(f"{path}.questions", 'completion is "quiz" but this module has none')
        modules.append(
            ModuleSpec(
                position=position,
                title=check.text(module, "title", f"{path}.title", required=True),
                description=check.text(module, "description", f"{path}.description"),
                video_url=check.url(module, "video_url", f"{path}.video_url"),
                minutes=check.integer(module, "minutes", f"{path}.minutes", 1),
                questions=questions,
            )
        )
    return modules


def _questions(module: dict, check: _Checker, prefix: str) -> list[dict]:
    raw = module.get("questions", [])
    if not isinstance(raw, list):
        check.fail(f"{prefix}.questions", "must be [[modules.questions]] tables")
        return []
    questions = []
    for number, question in enumerate(raw, start=1):
        path = f"{prefix}.questions[{number}]"
        if not isinstance(question, dict):
            check.fail(path, "must be a [[modules.questions]] table")
            continue
        check.unknown_keys(question, QUESTION_KEYS, f"{path}.")
        text = check.text(question, "text", f"{path}.text", required=True)
        choices = question.get("choices")
        if not isinstance(choices, list) or len(choices) < 2:
            check.fail(f"{path}.choices", "needs a list of at least two choices")
            continue
        choices = [
            check.text({"c": c}, "c", f"{path}.choices[{i}]", required=True)
            for i, c in enumerate(choices, start=1)
        ]
        answer = question.get("answer")
        if isinstance(answer, bool) or not isinstance(answer, int):
            check.fail(f"{path}.answer", "must be the index of the right choice, from 0")
            continue
        if not 0 <= answer < len(choices):
            check.fail(
                f"{path}.answer",
                f"{answer} is out of range; choices are numbered 0 to {len(choices) - 1}",
            )
            continue
        questions.append({"text": text, "choices": choices, "answer": answer})
    return questions


def _editions(data: dict, check: _Checker, tz: ZoneInfo | None) -> list[EditionSpec]:
    raw = data.get("editions", [])
    if not isinstance(raw, list):
        check.fail("editions", "must be [[editions]] tables")
        return []
    editions: list[EditionSpec] = []
    seen: set[str] = set()
    for number, edition in enumerate(raw, start=1):
        path = f"editions[{number}]"
        if not isinstance(edition, dict):
            check.fail(path, "must be an [[editions]] table")
            continue
        check.unknown_keys(edition, EDITION_KEYS, f"{path}.")
        slug = check.slug(edition, f"{path}.slug")
        if slug and slug in seen:
            check.fail(f"{path}.slug", f"duplicate edition slug {slug!r} in this file")
        seen.add(slug)
        opens = check.instant(
            edition, "registration_opens", f"{path}.registration_opens", tz, end_of_day=False
        )
        closes = check.instant(
            edition, "registration_closes", f"{path}.registration_closes", tz, end_of_day=True
        )
        complete_by = check.instant(
            edition, "complete_by", f"{path}.complete_by", tz, end_of_day=True
        )
        capacity = check.integer(edition, "capacity", f"{path}.capacity", 0)
        if "registration_closes" not in edition:
            check.fail(f"{path}.registration_closes", "missing; it is required")
        if opens and closes and closes <= opens:
            check.fail(f"{path}.registration_closes", "closes before registration_opens")
        if closes and complete_by and complete_by < closes:
            check.fail(f"{path}.complete_by", "is before registration_closes")
        if closes is not None:
            name = check.text(edition, "name", f"{path}.name")
            editions.append(EditionSpec(slug, opens, closes, complete_by, capacity or 0, name))
    return editions


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
