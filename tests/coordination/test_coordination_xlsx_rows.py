"""InlineRows writes the rows XlsxWriter's own cell calls would write, byte for byte."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl
import pytest
import xlsxwriter
from xlsxwriter.utility import _datetime_to_excel_datetime

from courses.coordination.exports import WORKBOOK_OPTIONS
from courses.coordination.xlsx_rows import InlineRows, excel_serial

AWKWARD = [
    "plain",
    "=1+1",
    "\tTab",
    "\rCR",
    " lead",
    "trail ",
    "  ",
    "\n",
    "a & b < c > d",
    'quote "x"',
    "new\nline",
    "_x000D_ literal",
    "ctl\x01\x1f",
    "émoji 🎣 ñ",
    "\ufffe",
    "x" * 20000,
    "🎣" * 17000,  # over Excel's 32,767 UTF-16 units: truncated
]
ROWS = [
    [1, "Ana", datetime(2023, 7, 9, 11, 0), None, "", 6, 0, 2.5],
    [2, None, None, datetime(1900, 1, 1, 6, 0), datetime(1900, 3, 1), -3, "+56912345678"],
    *[
        [n + 3, text, datetime(2023, 4, 1, 23, 59, 59, 999999), text]
        for n, text in enumerate(AWKWARD)
    ],
    [None, "", None],  # nothing to write: no <row> at all
    [99, "", "", "", "", "", "", "", "last"],
]
HEADER = ["ID", "Nombre", "Fecha", "Otra", "Texto", "N", "M", "X", "Y"]


def _workbook(fast: bool) -> bytes:
    target = io.BytesIO()
    workbook = xlsxwriter.Workbook(target, WORKBOOK_OPTIONS)  # the export's own settings
    sheet = workbook.add_worksheet("Hoja")
    sheet.write_row(0, 0, HEADER, workbook.add_format({"bold": True}))
    sheet.freeze_panes(1, 0)
    if fast:
        rows = InlineRows(workbook, sheet, 1, len(HEADER))
        for values in ROWS:
            rows.write(values)
        rows.close()
    else:
        for row, values in enumerate(ROWS, start=1):
            for column, value in enumerate(values):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    sheet.write_string(row, column, value)
                elif isinstance(value, datetime):
                    sheet.write_datetime(row, column, value)
                else:
                    sheet.write_number(row, column, value)
    sheet.autofilter(0, 0, len(ROWS), len(HEADER) - 1)
    workbook.close()
    return target.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n != "docProps/core.xml"}


def test_rows_are_the_xml_xlsxwriter_writes_itself():
    fast, own = _parts(_workbook(fast=True)), _parts(_workbook(fast=False))
    assert fast.keys() == own.keys()
    for name in own:
        assert fast[name] == own[name], name  # sheet, styles (date format), everything


def test_rows_read_back_as_typed_values():
    sheet = openpyxl.load_workbook(io.BytesIO(_workbook(fast=True))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == (1, "Ana", datetime(2023, 7, 9, 11, 0))
    assert rows[2][6] == "+56912345678"
    assert rows[3 + AWKWARD.index("=1+1")][1] == "=1+1"
    assert sheet.max_row == len(ROWS) + 1


def test_text_shaped_like_rich_text_stays_one_text_cell():
    """XlsxWriter copies a "<r>…</r>" text raw into the XML; a typed value must not add cells."""
    target = io.BytesIO()
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_string(0, 0, "ID")
    rows = InlineRows(workbook, sheet, 1, 2)
    payload = '<r><t>a</t></r></is></c><c r="B2"><f>1+1</f></c><c r="C2"><is><r><t>b</t></r>'
    rows.write([payload])
    rows.close()
    workbook.close()
    sheet = openpyxl.load_workbook(target).active
    assert [(c.value, c.data_type) for c in sheet[2] if c.value is not None] == [(payload, "s")]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2023, 7, 9, 11, 0),
        datetime(1900, 1, 1, 12),
        datetime(1900, 2, 28),
        datetime(1900, 3, 1, 0, 0, 1),
    ],
)
def test_excel_serial_is_xlsxwriters(moment):
    assert excel_serial(moment) == _datetime_to_excel_datetime(moment, False, False)
