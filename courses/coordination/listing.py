"""The enrollee list: search, filters, sorting and pages, shared by the page and the exports.

Search ignores case and accents on SQLite and PostgreSQL alike: both sides are folded to plain
lower-case letters, the typed words in Python and the stored text in SQL by `Folded`, which is
`translate(lower(…))` on PostgreSQL and, on SQLite (whose lower() knows only ASCII and which has
no translate()), the same Python function registered on every connection of the application's
engine (`install`, called by `coordination.init_app`).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import phonenumbers
from sqlalchemy import Select, String, Subquery, case, event, func, literal, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from courses.catalog.models import Edition
from courses.certificates.models import Certificate
from courses.coordination.models import Coordinator
from courses.coordination.services import (
    STATUSES,
    scoped_enrollments,
    status_expression,
)
from courses.extensions import db
from courses.participants.merge import likely_duplicates
from courses.participants.models import ModuleCompletion
from courses.registration.models import Enrollment

PAGE_SIZE = 50

#: Accented letters (both cases) and their plain lower-case letter.
_FOLDS = {
    "a": "áàâäãåÁÀÂÄÃÅ",
    "e": "éèêëÉÈÊË",
    "i": "íìîïÍÌÎÏ",
    "o": "óòôöõÓÒÔÖÕ",
    "u": "úùûüÚÙÛÜ",
    "n": "ñÑ",
    "c": "çÇ",
}

_TABLE = str.maketrans({c: plain for plain, accented in _FOLDS.items() for c in accented})

#: Sort keys offered in the list, and the column each uses.
SORTS = ("name", "email", "country", "organization", "registered", "status")


def fold_text(text: str | None) -> str | None:
    """Plain lower-case text without accents: "Núñez" → "nunez"."""
    if text is None:
        return None
    # The common letters by table (fast: SQLite calls this once per row searched).
    folded = text.translate(_TABLE).lower()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Folded(FunctionElement):
    """SQL for `fold_text(expression)`."""

    type = String()
    inherit_cache = True
    name = "coordination_fold"


@compiles(Folded, "sqlite")
def _fold_sqlite(element, compiler, **kw) -> str:
    return f"coordination_fold({compiler.process(element.clauses, **kw)})"


_ACCENTED = "".join(_FOLDS.values())
_PLAIN = "".join(plain * len(accented) for plain, accented in _FOLDS.items())


@compiles(Folded)
def _fold_translate(element, compiler, **kw) -> str:
    # PostgreSQL's lower() knows every alphabet; translate() then drops the accents.
    inner = compiler.process(element.clauses, **kw)
    return f"translate(lower({inner}), '{_ACCENTED}', '{_PLAIN}')"


def install(engine: Engine) -> None:
    """Give the SQLite connections of `engine` (the application's) the folding function."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _register_fold)


def _register_fold(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("coordination_fold", 1, fold_text, deterministic=True)


def fold_sql(expression: ColumnElement[str]) -> ColumnElement[str]:
    """The same folding as `fold_text`, in SQL."""
    return Folded(expression)


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class ListFilters:
    """What the coordinator asked to see: search words, country, state, order, page."""

    q: str = ""
    country: str = ""
    status: str = ""
    sort: str = "registered"
    descending: bool = False
    page: int = 1
    words: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ListFilters:
        """Read filters from a query string; unknown values fall back to the defaults."""
        q = " ".join((args.get("q") or "").split())[:100]
        country = (args.get("country") or "").strip().upper()
        country = country if len(country) == 2 and country.isalpha() else ""
        status = args.get("status") or ""
        status = status if status in STATUSES else ""
        sort = args.get("sort") or "registered"
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        if sort not in SORTS:
            sort, descending = "registered", False
        try:
            page = max(1, min(int(args.get("page") or 1), 100_000))
        except ValueError:
            page = 1
        words = tuple(w for w in fold_text(q).split() if w)
        return cls(q, country, status, sort, descending, page, words)

    def as_args(self, **changes: object) -> dict[str, object]:
        """Query-string arguments for links that keep these filters (empty ones left out)."""
        values: dict[str, object] = {
            "q": self.q,
            "country": self.country,
            "status": self.status,
            "sort": ("-" if self.descending else "") + self.sort,
            "page": self.page,
        }
        values.update(changes)
        if values.get("sort") == "registered":
            values.pop("sort")
        if values.get("page") == 1:
            values.pop("page")
        return {k: v for k, v in values.items() if v not in ("", None)}

    def described(self) -> dict[str, object]:
        """The filters as recorded in the audit log."""
        return {
            "q": self.q,
            "country": self.country,
            "status": self.status,
            "sort": ("-" if self.descending else "") + self.sort,
        }


#: What a phone number may be typed with besides digits.
_PHONE_CHARACTERS = re.compile(r"^[\d\s+().\-/]+$")
#: Fewer digits than this are not searched as a phone (a year, a module number…).
PHONE_MIN_DIGITS = 6


def phone_candidates(q: str, countries: list[str]) -> tuple[set[str], str] | None:
    """(E.164 numbers `q` may mean, its digits) when `q` reads as a phone number, else None.

    Phones are stored in E.164; a coordinator types them as people say them ("987 654 321",
    "+51 987…", "(55) 1234-5678"), so the number is parsed as national for each of the course's
    countries, and also as international when it starts with + or 00.
    """
    if not _PHONE_CHARACTERS.match(q):
        return None
    digits = re.sub(r"\D", "", q)
    if len(digits) < PHONE_MIN_DIGITS:
        return None
    typed = "+" + digits[2:] if digits.startswith("00") and not q.lstrip().startswith("+") else q
    numbers: set[str] = set()
    for region in [None, *countries]:
        try:
            number = phonenumbers.parse(typed, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            numbers.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return numbers, digits


def filtered(coordinator: Coordinator, edition: Edition, filters: ListFilters) -> Select:
    """The scoped enrollees matching the filters, in the chosen order (no paging)."""
    stmt = scoped_enrollments(coordinator, edition)
    phone = phone_candidates(filters.q, edition.course.countries) if filters.q else None
    if phone is not None:
        numbers, digits = phone
        # The whole number in any format, or a part of it typed as digits ("654321").
        stmt = stmt.where(
            Enrollment.phone.in_(sorted(numbers))
            | Enrollment.phone.like(_like_pattern(digits), escape="\\")
        )
    elif filters.words:
        haystack = fold_sql(
            Enrollment.name
            + literal(" ")
            + Enrollment.email
            + literal(" ")
            + Enrollment.organization
        )
        for word in filters.words:
            stmt = stmt.where(haystack.like(_like_pattern(word), escape="\\"))
    if filters.country:
        stmt = stmt.where(Enrollment.country == filters.country)
    if filters.status:
        stmt = stmt.where(status_expression() == filters.status)
    column = {
        "name": func.lower(Enrollment.name),
        "email": Enrollment.email_key,
        "country": Enrollment.country,
        "organization": func.lower(Enrollment.organization),
        "registered": Enrollment.created_at,
        "status": status_expression(),
    }[filters.sort]
    if filters.descending:
        return stmt.order_by(column.desc(), Enrollment.id.desc())
    return stmt.order_by(column.asc(), Enrollment.id.asc())


def count(stmt: Select) -> int:
    """How many rows a list query matches."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def modules_done_column() -> ColumnElement[int]:
    return (
        select(func.count(ModuleCompletion.id))
        .where(ModuleCompletion.enrollment_id == Enrollment.id)
        .scalar_subquery()
    )


def certificate_code_column() -> ColumnElement[str | None]:
    return (
        select(Certificate.code)
        .where(Certificate.enrollment_id == Enrollment.id, Certificate.is_valid)
        .order_by(Certificate.generation.desc())
        .limit(1)
        .scalar_subquery()
    )


def completions_by_enrollee(edition_id: int, module_ids: list[int]) -> Subquery:
    """One row per enrollee of the edition who completed a module: `done`, how many (of any
    module, as `modules_done_column` counts), and `module_<id>`, when they completed each of
    `module_ids` (NULL if not). One grouped pass, for queries of many enrollees at once."""
    # An alias: the outer query's own `enrollment` holds its scope and filters, not this one.
    enrollee = aliased(Enrollment)
    days = [
        func.max(case((ModuleCompletion.module_id == id_, ModuleCompletion.completed_at))).label(
            f"module_{id_}"
        )
        for id_ in module_ids
    ]
    return (
        select(
            ModuleCompletion.enrollment_id,
            func.count(ModuleCompletion.id).label("done"),
            *days,
        )
        .join(enrollee, enrollee.id == ModuleCompletion.enrollment_id)
        .where(enrollee.edition_id == edition_id)
        .group_by(ModuleCompletion.enrollment_id)
        .subquery("completions")
    )


def certificate_codes(edition_id: int) -> Subquery:
    """One row per enrollee of the edition with a valid certificate: its `code` (the latest
    valid generation, as `certificate_code_column` picks it)."""
    enrollee, other = aliased(Enrollment), aliased(Certificate)
    latest = (
        select(func.max(other.generation))
        .where(other.enrollment_id == Certificate.enrollment_id, other.is_valid)
        .scalar_subquery()
    )
    return (
        select(Certificate.enrollment_id, Certificate.code)
        .join(enrollee, enrollee.id == Certificate.enrollment_id)
        .where(
            enrollee.edition_id == edition_id,
            Certificate.is_valid,
            Certificate.generation == latest,
        )
        .subquery("certificates")
    )


def rows(stmt: Select) -> Select:
    """The list's query reduced to the plain columns shown and exported (no ORM objects)."""
    return stmt.with_only_columns(
        Enrollment.id,
        Enrollment.name,
        Enrollment.email,
        Enrollment.phone,
        Enrollment.country,
        Enrollment.organization,
        Enrollment.created_at,
        Enrollment.confirmed_at,
        modules_done_column().label("modules_done"),
        Enrollment.completed_at,
        certificate_code_column().label("certificate_code"),
        status_expression().label("status"),
        Enrollment.answers,
        maintain_column_froms=True,
    )


def page(stmt: Select, number: int) -> list:
    """One page of rows of the list."""
    return list(db.session.execute(rows(stmt).limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)))


def likely_duplicates_of(
    coordinator: Coordinator, edition: Edition, people: list[tuple[int, str, str | None]]
) -> dict[int, set[int]]:
    """{id: ids of likely duplicates} for `people` (id, name, phone), within the scope.

    Only registrations sharing a phone or a name with one of them are read, and only `people`
    are compared with them, so a page of fifty costs little even among hundreds of namesakes.
    """
    if not people:
        return {}
    phones = sorted({phone for _id, _name, phone in people if phone})
    names = sorted({fold_text(" ".join(name.split())) for _id, name, _phone in people if name})
    nearby = scoped_enrollments(coordinator, edition).where(
        Enrollment.phone.in_(phones) | fold_sql(Enrollment.name).in_(names)
    )
    return likely_duplicates(nearby, of=[id_ for id_, _name, _phone in people])
