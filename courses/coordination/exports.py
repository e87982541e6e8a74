"""Enrollee exports that open correctly in Excel and LibreOffice, streamed row by row.

The rows come from the same query as the list (same scope, filters and order) and are read in
batches, so an export of 100,000 enrollees never holds them all in memory.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Select

from courses.catalog.models import Edition
from courses.certificates.codes import format_code
from courses.coordination import xlsx
from courses.coordination.listing import rows
from courses.coordination.services import status_labels
from courses.extensions import db
from courses.i18n import country_name, current_language
from courses.registration.rules import printable

BATCH = 5000
CHUNK = 64 * 1024
#: Characters that make a spreadsheet read a cell as a formula (or a DDE command).
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain number (a phone such as +56912345678, a negative amount) cannot run anything.
_PURE_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")
DATE_FORMAT = "yyyy-mm-dd hh:mm"
#: Column widths in characters, in the order of `headers()`.
WIDTHS = (8, 30, 32, 16, 8, 16, 30, 18, 10, 10, 18, 14, 18)


def headers(question_keys: list[str] = ()) -> list[str]:
    """Column titles; the course's extra questions follow, headed by their `key`."""
    return [
        _("ID"),
        _("Nombre"),
        _("Correo electrónico"),
        _("Teléfono"),
        _("Código de país"),
        _("País"),
        _("Organización"),
        _("Inscripción"),
        _("Correo confirmado"),
        _("Módulos completados"),
        _("Completó el"),
        _("Código de certificado"),
        _("Estado"),
        *question_keys,
    ]


def neutralise(value: str) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula; leave plain numbers alone."""
    if value and value[0] in _DANGEROUS_START and not _PURE_NUMBER.match(value):
        return "'" + value
    return value


class RowFormatter:
    """Turns a database row into the values of one export line (text, or local datetimes)."""

    def __init__(self, edition: Edition) -> None:
        self.tz = ZoneInfo(edition.course.timezone)
        self.sheet_title = f"{edition.course.slug[:20]} {edition.slug[:10]}"
        self.total = len(edition.course.modules)
        self.language = current_language()
        self.labels = status_labels()
        self.yes, self.no = _("sí"), _("no")
        self._countries: dict[str, str] = {}
        #: The course's extra questions ([[questions]]), one column each after the others.
        self.question_keys = [q["key"] for q in edition.course.questions or []]

    def local(self, instant: datetime | None) -> datetime | None:
        """Naive local time in the course's zone: what a spreadsheet shows as a date."""
        if instant is None:
            return None
        return instant.astimezone(self.tz).replace(tzinfo=None)

    def country(self, code: str) -> str:
        if code not in self._countries:
            self._countries[code] = country_name(code, self.language)
        return self._countries[code]

    def csv_values(self, row) -> list[str]:
        """The line as text. Only the four columns people type (name, e-mail, phone,
        organisation) can start like a formula; the others are ours and need no check."""
        # Unpacked once: reading twelve attributes by name is a third of an export's time.
        (id_, name, email, phone, country, organization, created_at, confirmed_at, done,
         completed_at, code, status, answers) = row  # fmt: skip
        return [
            str(id_),
            neutralise(printable(name or "")),
            neutralise(email or ""),
            neutralise(phone or ""),
            country,
            self.country(country),
            neutralise(printable(organization or "")),
            self.text_time(created_at),
            self.yes if confirmed_at else self.no,
            f"{done}/{self.total}",
            self.text_time(completed_at),
            format_code(code) if code else "",
            self.labels.get(status, status),
            *(neutralise(value) for value in self.answers(answers)),
        ]

    def answers(self, answers: dict | None) -> list[str]:
        """The answer to each extra question, in column order ("" when not answered)."""
        answers = answers or {}
        return [str(answers.get(key, "")) for key in self.question_keys]

    def text_time(self, instant: datetime | None) -> str:
        local = self.local(instant)
        return local.strftime("%Y-%m-%d %H:%M") if local is not None else ""

    def values(self, row) -> list[object]:
        (id_, name, email, phone, country, organization, created_at, confirmed_at, done,
         completed_at, code, status, answers) = row  # fmt: skip
        return [
            str(id_),
            printable(name),
            email,
            phone,
            country,
            self.country(country),
            printable(organization),
            self.local(created_at),
            self.yes if confirmed_at else self.no,
            f"{done}/{self.total}",
            self.local(completed_at),
            format_code(code) if code else "",
            self.labels.get(status, status),
            *self.answers(answers),
        ]


def iter_rows(stmt: Select) -> Iterator:
    """The export's rows, fetched from the database in batches."""
    result = db.session.execute(rows(stmt).execution_options(yield_per=BATCH, stream_results=True))
    try:
        yield from result
    finally:
        result.close()


def csv_chunks(stmt: Select, formatter: RowFormatter, delimiter: str = ",") -> Iterator[bytes]:
    """The CSV file in pieces: UTF-8 with a BOM, RFC 4180 quoting, CRLF line ends.

    Runs after the view returned (streaming), so it needs no ORM object: `formatter` is built
    beforehand and `stmt` is plain SQL.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(headers(formatter.question_keys))
    for row in iter_rows(stmt):
        writer.writerow(formatter.csv_values(row))
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(stmt: Select, formatter: RowFormatter, target) -> None:
    """Write the XLSX file to the binary file `target`, rows read in batches, never all held."""
    xlsx.write(
        target,
        sheet_title=formatter.sheet_title,
        header=headers(formatter.question_keys),
        rows=(formatter.values(row) for row in iter_rows(stmt)),
        widths=WIDTHS + (20,) * len(formatter.question_keys),
        date_format=DATE_FORMAT,
    )


def spooled_xlsx(stmt: Select, formatter: RowFormatter):
    """The XLSX file in a temporary file (in memory while small), rewound for reading."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_xlsx(stmt, formatter, spool)
    spool.seek(0)
    return spool


def file_chunks(handle) -> Iterable[bytes]:
    """Read a file in pieces and close it at the end."""
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


def file_name(edition: Edition, now: datetime, extension: str) -> str:
    """<course>_<edition>_<YYYY-MM-DD>.<ext>, the date in the course's time zone."""
    day = now.astimezone(ZoneInfo(edition.course.timezone)).date().isoformat()
    return f"{edition.course.slug}_{edition.slug}_{day}.{extension}"
