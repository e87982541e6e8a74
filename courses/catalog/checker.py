"""The checks every part of a course file shares, and the problems they collect.

A `Checker` gathers the problems of one file as "FILE: KEY: REASON" instead of stopping at the
first; `loader.py`, `sections.py`, `extra_keys.py` and `branding.py` each check their part of
the file with it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from courses.registration.rules import ORGANIZATION_LENGTH, clean_name

LANGUAGES = ("es", "en")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


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


class Checker:
    """Collects the problems of one file instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def fail(self, key: str, reason: str) -> None:
        self.problems.append(Problem(self.file, key, reason))

    def unknown_keys(self, table: dict, allowed: Collection[str], prefix: str) -> None:
        for key in sorted(set(table).difference(allowed)):
            self.fail(f"{prefix}{key}", "unknown key (check the spelling)")

    def tables(
        self,
        data: dict,
        name: str,
        most: int | None = None,
        prefix: str = "",
        label: str | None = None,
    ) -> Iterator[tuple[str, dict]]:
        """(path, table) for each [[label]] entry under `data[name]`, numbered from 1 after
        `prefix` ("modules[2]."); problems for anything else, and for more than `most` entries
        (only the first `most` are walked then). A generator, so problems come in file order."""
        label = label or name
        key = f"{prefix}{name}"
        raw = data.get(name, [])
        if not isinstance(raw, list):
            self.fail(key, f"must be [[{label}]] tables")
            return
        if most is not None and len(raw) > most:
            self.fail(key, f"{len(raw)} {name}; at most {most} fit")
            raw = raw[:most]
        article = "an" if label[0] in "aeiou" else "a"
        for number, table in enumerate(raw, start=1):
            path = f"{key}[{number}]"
            if not isinstance(table, dict):
                self.fail(path, f"must be {article} [[{label}]] table")
                continue
            yield path, table

    def choices(self, table: dict, path: str) -> list[dict] | None:
        """A question's `choices`: two or more texts; None (and a problem) otherwise."""
        raw = table.get("choices")
        if not isinstance(raw, list) or len(raw) < 2:
            self.fail(f"{path}.choices", "needs a list of at least two choices")
            return None
        return [
            self.text({"c": c}, "c", f"{path}.choices[{i}]", required=True)
            for i, c in enumerate(raw, start=1)
        ]

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


def read_toml(path: Path, checker: Checker) -> dict | None:
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
