"""The course file's [[modules]] (with their quiz questions) and [[editions]], checked.

Keys number modules, questions and editions from 1, the way coordinators count them
("modules[3].title").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from courses.catalog.checker import Checker

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


def modules(data: dict, check: Checker, completion: Any) -> list[ModuleSpec]:
    raw = data.get("modules")
    if not isinstance(raw, list) or not raw:
        check.fail("modules", "the course needs at least one [[modules]] entry")
        return []
    modules = []
    # A refused entry refuses the file, so positions count the entries that are kept.
    for position, (path, module) in enumerate(check.tables(data, "modules"), start=1):
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


def _questions(module: dict, check: Checker, prefix: str) -> list[dict]:
    questions = []
    found = check.tables(module, "questions", prefix=f"{prefix}.", label="modules.questions")
    for path, question in found:
        check.unknown_keys(question, QUESTION_KEYS, f"{path}.")
        text = check.text(question, "text", f"{path}.text", required=True)
        choices = check.choices(question, path)
        if choices is None:
            continue
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


def editions(data: dict, check: Checker, tz: ZoneInfo | None) -> list[EditionSpec]:
    editions: list[EditionSpec] = []
    seen: set[str] = set()
    for path, edition in check.tables(data, "editions"):
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
