"""Enrollee exports that open correctly in Excel and LibreOffice, streamed row by row.

The rows come from the same query as the list (same scope, filters and order) and are read in
batches, so an export of 100,000 enrollees never holds them all in memory. Both files have the
same columns: ids and counts are numbers, every time is local to the course and its header
names the zone, and each module has a column with the day it was completed.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import xlsxwriter
from babel.lists import format_list
from babel.numbers import get_decimal_symbol
from flask_babel import gettext as _
from sqlalchemy import DateTime, Select, func, null, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from courses.catalog.models import Edition
from courses.certificates.codes import format_code
from courses.coordination.listing import certificate_codes, completions_by_enrollee
from courses.coordination.services import status_expression, status_labels
from courses.coordination.xlsx_rows import InlineRows
from courses.extensions import db
from courses.i18n import country_name, current_language, localized, timezone_label
from courses.registration.models import Enrollment
from courses.registration.rules import printable

BATCH = 5000
CHUNK = 64 * 1024
#: Rows handed to the csv writer at once (≈ 50 KB of text: about one chunk).
CSV_ROWS = 300
#: ":00" … ":59", the minutes of a local time.
MINUTES = tuple(f":{minute:02d}" for minute in range(60))
#: Hours of local time kept by a RowFormatter (an export's span; cleared beyond).
HOURS_KEPT = 20_000
_LAST_MICROSECOND = timedelta(minutes=59, seconds=59, microseconds=999_999)
#: Characters that make a spreadsheet read a cell as a formula (or a DDE command).
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain number (a phone such as +56912345678, a negative amount) cannot run anything.
_PURE_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")
DATE_FORMAT = "yyyy-mm-dd hh:mm"
#: The workbook's settings: rows flushed as written (constant memory), and typed text never
#: turned into formulas, numbers or links.
WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "default_date_format": DATE_FORMAT,
}
#: Column widths in characters, in the order of `headers()`, before the modules and questions.
WIDTHS = (8, 30, 32, 16, 8, 16, 30, 18, 10, 10, 10, 18, 14, 18)
MODULE_WIDTH = 18


def neutralise(value: str) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula; leave plain numbers alone."""
    if value and value[0] in _DANGEROUS_START and not _PURE_NUMBER.match(value):
        return "'" + value
    return value


class RowFormatter:
    """Turns a database row into the values of one export line (text, or local datetimes)."""

    def __init__(self, edition: Edition) -> None:
        timezone = edition.course.timezone
        self.tz = ZoneInfo(timezone)
        self.edition_id = edition.id
        self.sheet_title = re.sub(
            r"[\[\]:*?/\\]", "-", f"{edition.course.slug[:20]} {edition.slug[:10]}"
        )
        self.modules = [(m.id, m.position, m.title) for m in edition.course.modules]
        self.total = len(self.modules)
        self.total_text = str(self.total)
        self.language = current_language()
        self.zone = timezone_label(timezone, self.language)
        self.labels = status_labels()
        self.yes, self.no = _("sí"), _("no")
        self._countries: dict[str, str] = {}
        #: The course's extra questions ([[questions]]), one column each, last.
        self.question_keys = [q["key"] for q in edition.course.questions or []]
        self.no_modules = [""] * self.total
        #: (year, month, day, hour) in UTC → that hour in local time, "2023-07-09 11", or ""
        #: where the hour holds a change of offset or the offset is not whole hours.
        self._hours: dict[tuple[int, int, int, int], str] = {}

    def headers(self) -> list[str]:
        zone = self.zone
        return (
            [
                _("ID"),
                _("Nombre"),
                _("Correo electrónico"),
                _("Teléfono"),
                _("Código de país"),
                _("País"),
                _("Organización"),
                _("Inscripción (%(zone)s)", zone=zone),
                _("Correo confirmado"),
                _("Módulos completados"),
                _("Módulos en total"),
                _("Completó el (%(zone)s)", zone=zone),
                _("Código de certificado"),
                _("Estado"),
            ]
            + [
                _(
                    "Módulo %(n)s: %(title)s (completado el, %(zone)s)",
                    n=position,
                    title=localized(title, self.language),
                    zone=zone,
                )
                for _id, position, title in self.modules
            ]
            + self.question_keys
        )

    def local(self, instant: datetime | None) -> datetime | None:
        """Naive local time in the course's zone (from naive UTC, as `export_rows` reads it):
        what a spreadsheet shows as a date."""
        if instant is None:
            return None
        return instant.replace(tzinfo=UTC).astimezone(self.tz).replace(tzinfo=None)

    def country(self, code: str) -> str:
        if code not in self._countries:
            self._countries[code] = country_name(code, self.language)
        return self._countries[code]

    def text_time(self, instant: datetime | None) -> str:
        """Local time to the minute, "2023-07-09 11:00", of a UTC instant (naive UTC, or aware
        in UTC: the database's instants)."""
        # The zone conversion and isoformat cost 2 µs a cell; an export's instants fall in few
        # hours, and where the offset is whole hours the local minute is the UTC minute, so
        # each hour is converted once and its minutes appended (0.2 µs).
        if instant is None:
            return ""
        key = (instant.year, instant.month, instant.day, instant.hour)
        hour = self._hours.get(key)
        if hour is None:
            if len(self._hours) >= HOURS_KEPT:
                self._hours.clear()
            hour = self._hours[key] = self._local_hour(instant)
        if hour:
            return hour + MINUTES[instant.minute]
        return self._exact_time(instant)

    def _exact_time(self, instant: datetime) -> str:
        # isoformat is C and gives what strftime("%Y-%m-%d %H:%M") gives, several times faster.
        return instant.replace(tzinfo=UTC).astimezone(self.tz).isoformat(" ", "minutes")[:16]

    def _local_hour(self, instant: datetime) -> str:
        """The local "YYYY-MM-DD HH" of the UTC hour of `instant`, or "" when its minutes are
        not the same in local time (an offset such as +05:30, or a change within the hour)."""
        start = instant.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
        first = start.astimezone(self.tz)
        offset = first.utcoffset()
        last_offset = (start + _LAST_MICROSECOND).astimezone(self.tz).utcoffset()
        if offset != last_offset or offset % timedelta(hours=1):
            return ""
        return first.isoformat(" ", "minutes")[:13]

    def csv_values(self, row) -> list[str]:
        """The line as text. Only the four columns people type (name, e-mail, phone,
        organisation) can start like a formula; the others are ours and need no check."""
        # Unpacked once: reading twelve attributes by name is a third of an export's time.
        (id_, name, email, phone, country, organization, created_at, confirmed, done,
         completed_at, code, status, answers, *modules) = row  # fmt: skip
        text_time = self.text_time
        values = [
            str(id_),
            neutralise(printable(name or "")),
            neutralise(email or ""),
            neutralise(phone or ""),
            country,
            self.country(country),
            neutralise(printable(organization or "")),
            text_time(created_at),
            self.yes if confirmed else self.no,
            str(done),
            self.total_text,
            text_time(completed_at),
            format_code(code) if code else "",
            self.labels.get(status, status),
        ]
        # No module done (most people): no day to look at.
        values += map(text_time, modules) if done else self.no_modules
        if self.question_keys:
            values += [neutralise(value) for value in self.answers(answers)]
        return values

    def answers(self, answers: dict | None) -> list[str]:
        """The answer to each extra question, in column order ("" when not answered)."""
        if not self.question_keys:
            return []
        answers = answers or {}
        return [str(answers.get(key, "")) for key in self.question_keys]

    def values(self, row) -> list[object]:
        """The line for the spreadsheet: numbers, local datetimes and text (never formulas)."""
        (id_, name, email, phone, country, organization, created_at, confirmed, done,
         completed_at, code, status, answers, *modules) = row  # fmt: skip
        return [
            id_,
            printable(name),
            email,
            phone,
            country,
            self.country(country),
            printable(organization),
            self.local(created_at),
            self.yes if confirmed else self.no,
            done,
            self.total,
            self.local(completed_at),
            format_code(code) if code else "",
            self.labels.get(status, status),
            *[self.local(day) if day is not None else None for day in modules],
            *self.answers(answers),
        ]


def csv_separators(countries: list[str], language: str) -> dict[str, str]:
    """{"comma": "Perú y México", "semicolon": "Chile y Colombia"}: the countries whose Excel
    expects each separator. Where the decimal mark is a comma, Excel splits on semicolons."""
    found: dict[str, list[str]] = {"comma": [], "semicolon": []}
    for code in countries:
        decimal = get_decimal_symbol(f"es_{code}")
        found["semicolon" if decimal == "," else "comma"].append(country_name(code, language))
    return {
        key: format_list(names, locale=language) if names else "" for key, names in found.items()
    }


def _naive(column: ColumnElement[datetime | None]) -> ColumnElement[datetime | None]:
    # Plain DateTime, not UTCDateTime: a naive UTC datetime without a Python call per cell
    # to make it aware; RowFormatter.local does that once when it converts to local time.
    return type_coerce(column, DateTime())


def export_rows(stmt: Select, formatter: RowFormatter) -> Select:
    """The list's query (scope, filters, order) reduced to the exported columns: those of
    `listing.rows`, with instants as naive UTC, whether the e-mail was confirmed, the answers
    only when the course asks questions, and per module the instant it was completed.

    Modules and certificates come from two grouped tables joined once (at most one row of each
    per enrollee, so the list's rows stay as they are), not from subqueries run for every row:
    ten per row for six modules took 0.6 s of SQLite per 100,000 rows, the joins take 0.43 s.
    They hold the whole edition's even when the list's filters keep few rows: limiting them to
    the list's ids (an IN of its query) ran its filters again, and a search's folding of
    every name made a searched export 1.1 → 1.9 s."""
    completions = completions_by_enrollee(formatter.edition_id, [m[0] for m in formatter.modules])
    certificates = certificate_codes(formatter.edition_id)
    module_columns = [
        _naive(completions.c[f"module_{id_}"]).label(f"module_{position}")
        for id_, position, _title in formatter.modules
    ]
    status = status_expression(
        certified=certificates.c.code.is_not(None), started=completions.c.done.is_not(None)
    )
    return (
        stmt.outerjoin(completions, completions.c.enrollment_id == Enrollment.id)
        .outerjoin(certificates, certificates.c.enrollment_id == Enrollment.id)
        .with_only_columns(
            Enrollment.id,
            Enrollment.name,
            Enrollment.email,
            Enrollment.phone,
            Enrollment.country,
            Enrollment.organization,
            _naive(Enrollment.created_at),
            Enrollment.confirmed_at.is_not(None),
            func.coalesce(completions.c.done, 0),
            _naive(Enrollment.completed_at),
            certificates.c.code,
            status,
            Enrollment.answers if formatter.question_keys else null(),
            *module_columns,
            maintain_column_froms=True,
        )
    )


def iter_rows(stmt: Select, formatter: RowFormatter, size: int = BATCH) -> Iterator[list]:
    """The export's rows as lists of up to `size` plain rows, fetched in batches of BATCH."""
    # Core, not the ORM: these are plain columns, and the ORM's row handling costs per row.
    result = db.session.connection().execute(
        export_rows(stmt, formatter).execution_options(yield_per=BATCH, stream_results=True)
    )
    try:
        yield from result.partitions(size)
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
    writer.writerow(formatter.headers())
    values = formatter.csv_values
    for rows in iter_rows(stmt, formatter, CSV_ROWS):
        writer.writerows(map(values, rows))
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(stmt: Select, formatter: RowFormatter, target) -> None:
    """Write the XLSX file to the binary file `target`, row by row, never all held.

    XlsxWriter in constant_memory mode flushes each row as it is written; conversions of text
    into formulas, numbers or links are off, so typed text always stays text. The data rows go
    through `InlineRows`: the same XML as XlsxWriter's cell calls, written a row at a time.
    """
    workbook = xlsxwriter.Workbook(target, {**WORKBOOK_OPTIONS, "tmpdir": tempfile.gettempdir()})
    sheet = workbook.add_worksheet(formatter.sheet_title[:31])
    header = formatter.headers()
    bold = workbook.add_format({"bold": True})
    for column, width in enumerate(WIDTHS):
        sheet.set_column(column, column, width)
    if len(header) > len(WIDTHS):
        sheet.set_column(len(WIDTHS), len(header) - 1, MODULE_WIDTH)
    sheet.write_row(0, 0, header, bold)
    sheet.freeze_panes(1, 0)
    data = InlineRows(workbook, sheet, 1, len(header))
    values = formatter.values
    for rows in iter_rows(stmt, formatter):
        for row in rows:
            data.write(values(row))  # phones and codes are str: they stay text
    data.close()
    last = data.next_row - 1
    sheet.autofilter(0, 0, max(last, 1), len(header) - 1)
    workbook.close()


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
