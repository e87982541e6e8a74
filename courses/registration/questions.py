"""The course's extra registration questions, counted: how many chose each answer.

For the coordinators' dashboard (a breakdown by gender, for example, which the Alliance reports
on). Answers are stored per enrollment in the Spanish words of the choice, so counts survive a
course file that later rewords its English.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select

from courses.catalog.models import Edition
from courses.extensions import db
from courses.i18n import localized
from courses.registration.models import WITHDRAWN, Enrollment


@dataclass(frozen=True)
class ChoiceCount:
    #: The choice as shown in `language` ("Sin respuesta" for people who left it blank).
    label: str
    #: The stored value (the Spanish words), or "" for no answer.
    value: str
    count: int


@dataclass(frozen=True)
class QuestionBreakdown:
    key: str
    label: str
    choices: list[ChoiceCount]


def choice_counts(
    edition: Edition, language: str, no_answer: str, *, within: ColumnElement | None = None
) -> list[QuestionBreakdown]:
    """Per choice question of the course, how many people of `edition` picked each choice.

    Everyone registered or waiting counts (not those who left, nor erased rows); `no_answer`
    labels those who did not answer, and answers no longer among the choices are counted under
    their stored words, so the numbers always add up to the people counted. `within` (a
    subquery of enrollment ids) limits the count to what a coordinator may see.
    """
    questions = [q for q in edition.course.questions or [] if q.get("kind") == "choice"]
    if not questions:
        return []
    query = select(Enrollment.answers).where(
        Enrollment.edition_id == edition.id,
        Enrollment.status != WITHDRAWN,
        Enrollment.erased_at.is_(None),
    )
    if within is not None:
        query = query.where(Enrollment.id.in_(within))
    rows = db.session.scalars(query)
    tallies = {q["key"]: Counter() for q in questions}
    for answers in rows:
        for key, tally in tallies.items():
            tally[(answers or {}).get(key, "")] += 1
    breakdowns = []
    for question in questions:
        tally = tallies[question["key"]]
        counted = []
        for choice in question["choices"]:
            value = choice.get("es", "")
            counted.append(ChoiceCount(localized(choice, language), value, tally.pop(value, 0)))
        no_answers = tally.pop("", 0)
        counted += [ChoiceCount(value, value, n) for value, n in sorted(tally.items())]
        counted.append(ChoiceCount(no_answer, "", no_answers))
        breakdowns.append(
            QuestionBreakdown(question["key"], localized(question["label"], language), counted)
        )
    return breakdowns
