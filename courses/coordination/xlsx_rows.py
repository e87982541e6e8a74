"""Data rows of an XlsxWriter sheet in constant_memory mode, written one string per row.

XlsxWriter builds each cell through several calls (argument conversion, a cell tuple, escape
checks, attribute lists): three quarters of an export's time. `InlineRows` writes the same
`<row>` XML that `write_string`, `write_number` and `write_datetime` would (inline strings, the
workbook's default date format) straight into the sheet's row file, and leaves the rest of the
file (styles, widths, frozen header, autofilter) to XlsxWriter. It relies on XlsxWriter's
constant_memory internals (the version is pinned in requirements.txt);
tests/coordination/test_coordination_xlsx_rows.py compares its output with XlsxWriter's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

#: Anything XlsxWriter would change in a text: XML and control characters, its own _xHHHH_
#: escapes, leading or trailing whitespace. Text without any is written as it is.
_NEEDS_CARE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s\Z")
_LEADING_OR_TRAILING_SPACE = re.compile(r"^\s|\s$")
_EXCEL_EPOCH = datetime(1899, 12, 31)
#: Excel's string limit in UTF-16 units (XlsxWriter truncates longer ones).
_MAX_STRING = 32767


def _escaped(text: str) -> tuple[str, bool]:
    """(XML of a text, whether its whitespace must be preserved), as XlsxWriter writes it."""
    if len(text) > _MAX_STRING // 2 and _utf16_len(text) > _MAX_STRING:
        text = _utf16_truncate(text, _MAX_STRING)
    text = Worksheet._escape_control_characters(text)
    preserve = _LEADING_OR_TRAILING_SPACE.search(text) is not None
    # Always escaped: XlsxWriter would copy a text shaped "<r>…</r>" raw into the XML as rich
    # text, which lets a typed value add cells (formulas included) to the file.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text, preserve


def excel_serial(moment: datetime) -> float:
    """A naive datetime as Excel's serial number, computed as XlsxWriter does (1900 epoch)."""
    delta = moment - _EXCEL_EPOCH
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / (60 * 60 * 24)
    # Only 1900-01-01 (serial 1.x) is ISO (1900, 1, 1): Excel's time-only values start there.
    if serial < 2 and moment.isocalendar() == (1900, 1, 1):
        serial -= 1
    if serial > 59:  # Excel counts a 29 February 1900 that never was
        serial += 1
    return serial


class InlineRows:
    """Writes data rows below what XlsxWriter already holds, in the XML it would write."""

    def __init__(self, workbook: Workbook, sheet: Worksheet, first_row: int, columns: int):
        if not sheet.constant_memory:
            raise ValueError("InlineRows needs a worksheet in constant_memory mode")
        self.workbook, self.sheet = workbook, sheet
        self.letters = [xl_col_to_name(column) for column in range(columns)]
        self.next_row = first_row
        self._date_style: str | None = None
        # Write out what the public API still holds (the header row) before our rows.
        sheet._write_single_row(first_row)

    def date_style(self) -> str:
        # Numbered when first used, as XlsxWriter numbers formats in the order cells use them.
        if self._date_style is None:
            self._date_style = str(self.workbook.default_date_format._get_xf_index())
        return self._date_style

    def write(self, values: Sequence[object]) -> None:
        """The next row: text, numbers and naive datetimes; None and "" leave the cell empty."""
        number = str(self.next_row + 1)
        parts = [f'<row r="{number}">']
        first = last = -1
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            cell = self.letters[column] + number
            if isinstance(value, str):
                if len(value) <= _MAX_STRING // 2 and _NEEDS_CARE.search(value) is None:
                    parts.append(f'<c r="{cell}" t="inlineStr"><is><t>{value}</t></is></c>')
                else:
                    text, preserve = _escaped(value)
                    space = ' xml:space="preserve"' if preserve else ""
                    parts.append(f'<c r="{cell}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
            elif isinstance(value, datetime):
                serial = excel_serial(value)
                parts.append(f'<c r="{cell}" s="{self.date_style()}"><v>{serial:.16G}</v></c>')
            else:
                parts.append(f'<c r="{cell}"><v>{value:.16G}</v></c>')
            if first < 0:
                first = column
            last = column
        if first >= 0:
            parts.append("</row>")
            self.sheet.fh.write("".join(parts))
            # What XlsxWriter's own writes record, for the sheet's <dimension>.
            self.sheet._check_dimensions(self.next_row, first)
            self.sheet._check_dimensions(self.next_row, last)
        self.next_row += 1

    def close(self) -> None:
        """Hand the sheet back to XlsxWriter after the last row."""
        self.sheet.previous_row = self.next_row
