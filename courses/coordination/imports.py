"""Completion import: a CSV of e-mail addresses and module numbers, previewed, then applied.

The uploaded rows travel from the preview to the apply step inside a signed form field (never
on the local disk: any process may answer the second request), and are checked again before
anything is written. Applying is all-or-nothing: one refused row and nothing changes.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from courses.catalog.models import Edition
from courses.coordination.models import Coordinator
from courses.coordination.services import scoped_enrollments
from courses.extensions import db
from courses.participants.models import ModuleCompletion
from courses.participants.services import CompletionRefused, mark_module
from courses.registration.models import Enrollment

MAX_ROWS = 5000
MAX_BYTES = 1024 * 1024
_HEADER_WORDS = {"email", "e-mail", "correo", "correo electrónico", "correo electronico", "mail"}
_ALL_WORDS = {"all", "todos", "todas", "todo"}
_SEPARATORS = re.compile(r"[\s;,]+")


class ImportFileError(ValueError):
    """The file as a whole cannot be read; the message says why."""


@dataclass
class ImportRow:
    """One line of the file and what applying it would do."""

    line: int
    email: str
    modules_text: str
    modules: list[int] = field(default_factory=list)
    #: Module numbers that applying would mark, and those already completed.
    new: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    enrollment_id: int | None = None
    name: str = ""


@dataclass
class ImportPlan:
    rows: list[ImportRow]

    @property
    def errors(self) -> int:
        return sum(1 for row in self.rows if row.errors)

    @property
    def marks(self) -> int:
        return sum(len(row.new) for row in self.rows if not row.errors)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and self.errors == 0


def read_csv(data: bytes) -> list[tuple[int, str, str]]:
    """(line, e-mail, modules) per non-empty line; a header line is skipped."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(_("El archivo es demasiado grande (máximo 1 MB)."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel in Spanish often saves CSV as Windows-1252.
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = "," if "," in first or ";" not in first else ";"
    lines: list[tuple[int, str, str]] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in _HEADER_WORDS:
            continue
        email = cells[0]
        modules = " ".join(c for c in cells[1:] if c)
        lines.append((number, email, modules))
        if len(lines) > MAX_ROWS:
            raise ImportFileError(_("El archivo tiene más de %(n)s filas.", n=MAX_ROWS))
    if not lines:
        raise ImportFileError(_("El archivo no tiene filas con datos."))
    return lines


def _parse_modules(text: str, total: int) -> tuple[list[int], list[str]]:
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    if not tokens:
        return [], [_("Faltan los números de módulo.")]
    if len(tokens) == 1 and tokens[0].lower() in _ALL_WORDS:
        return list(range(1, total + 1)), []
    numbers: set[int] = set()
    errors = []
    for token in tokens:
        if token.isdigit() and 1 <= int(token) <= total:
            numbers.add(int(token))
        else:
            errors.append(
                _(
                    "«%(value)s» no es un número de módulo (el curso tiene %(n)s).",
                    value=token[:20],
                    n=total,
                )
            )
    return sorted(numbers), errors


def plan(
    coordinator: Coordinator, edition: Edition, lines: list[tuple[int, str, str]]
) -> ImportPlan:
    """Check every line against the database and the coordinator's scope; change nothing."""
    modules = {m.position: m for m in edition.course.modules}
    rows = []
    for line, email, modules_text in lines:
        row = ImportRow(line, email, modules_text)
        row.modules, row.errors = _parse_modules(modules_text, len(modules))
        key = email.strip().lower()
        enrollment = None
        if not key:
            row.errors.insert(0, _("Falta el correo."))
        else:
            enrollment = db.session.scalar(
                scoped_enrollments(coordinator, edition).where(Enrollment.email_key == key)
            )
            if enrollment is None:
                # The same words whether nobody used the address, the person is in another
                # edition or outside this coordinator's scope: the import tells nobody who
                # is registered where they may not look.
                row.errors.insert(0, _("No se encontró en esta edición."))
        if enrollment is not None:
            row.enrollment_id, row.name = enrollment.id, enrollment.name
            if enrollment.erased_at is not None:
                row.errors.append(_("Sus datos fueron eliminados."))
            elif enrollment.is_waiting:
                row.errors.append(_("Está en la lista de espera, sin cupo todavía."))
            done = set(
                db.session.scalars(
                    select(ModuleCompletion.module_id).where(
                        ModuleCompletion.enrollment_id == enrollment.id
                    )
                )
            )
            for number in row.modules:
                (row.already if modules[number].id in done else row.new).append(number)
        rows.append(row)
    return ImportPlan(rows)


def apply(plan_: ImportPlan, edition: Edition, now: datetime) -> int:
    """Mark every planned module; raises CompletionRefused (caller rolls back) on any refusal."""
    if not plan_.ok:
        raise CompletionRefused(_("El archivo tiene errores: no se aplicó nada."))
    modules = {m.position: m for m in edition.course.modules}
    marked = 0
    for row in plan_.rows:
        enrollment = db.session.get(Enrollment, row.enrollment_id)
        for number in row.new:
            try:
                mark_module(enrollment, modules[number], source="import", now=now)
            except CompletionRefused as refused:
                raise CompletionRefused(
                    _("Línea %(line)s: %(reason)s", line=row.line, reason=refused.message)
                ) from refused
            marked += 1
    return marked


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="coordination.import")


def sign(coordinator: Coordinator, edition: Edition, lines: list[tuple[int, str, str]]) -> str:
    """The file's rows, signed, for the hidden field of the preview page."""
    return _serializer().dumps({"c": coordinator.id, "e": edition.id, "rows": lines})


def unsign(coordinator: Coordinator, edition: Edition, payload: str) -> list[tuple[int, str, str]]:
    """The rows signed by `sign` for this coordinator and edition; ImportFileError otherwise."""
    try:
        data = _serializer().loads(payload or "")
    except BadSignature:
        raise ImportFileError(
            _("Los datos del archivo no son válidos. Vuelve a subirlo.")
        ) from None
    if data.get("c") != coordinator.id or data.get("e") != edition.id:
        raise ImportFileError(_("Los datos del archivo no son válidos. Vuelve a subirlo."))
    return [(int(line), str(email), str(mods)) for line, email, mods in data["rows"]]
