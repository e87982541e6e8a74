"""A small streaming XLSX writer: text and date cells only, header row frozen, column widths.

openpyxl's write-only mode (without lxml) needs about a millisecond per row, so 100,000 rows
took minutes, longer than a worker may take. This writer emits the same minimal SpreadsheetML
directly (inline strings, dates as serial numbers with a date format) at a fraction of the
cost. Text is always an inline string, so nothing typed by a participant can become a formula.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import BinaryIO

from openpyxl.utils import get_column_letter

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: Characters XML 1.0 cannot carry at all.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_EPOCH = datetime(1899, 12, 30)
#: Style indexes in styles.xml: 1 = date and time, 2 = bold header.
_DATE, _BOLD = 1, 2

_CONTENT_TYPES = (
    _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="{date_format}"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _text(value: str) -> str:
    return _ILLEGAL.sub("", value).translate(_ESCAPES)


def _serial(value: datetime) -> str:
    """A naive local datetime as a spreadsheet serial number (days since 1899-12-30)."""
    delta = value.replace(tzinfo=None) - _EPOCH
    return repr(delta.days + delta.seconds / 86400)


def write(
    target: BinaryIO,
    *,
    sheet_title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str | datetime | None]],
    widths: Sequence[float],
    date_format: str = "yyyy-mm-dd hh:mm",
    batch: int = 500,
) -> None:
    """Write a one-sheet workbook to `target`, reading `rows` once, holding `batch` rows."""
    letters = [get_column_letter(i) for i in range(1, len(header) + 1)]
    # Sheet names may not hold []:*?/\ and have at most 31 characters.
    title = _text(re.sub(r"[\[\]:*?/\\]", "-", sheet_title))[:31].replace('"', "'") or "Sheet1"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr(
            "xl/workbook.xml",
            _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES.replace("{date_format}", date_format))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            cols = "".join(
                f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                for i, w in enumerate(widths, start=1)
            )
            head = "".join(
                f'<c r="{c}1" s="{_BOLD}" t="inlineStr"><is><t>{_text(h)}</t></is></c>'
                for c, h in zip(letters, header, strict=True)
            )
            sheet.write(
                (
                    _HEAD + f'<worksheet xmlns="{_MAIN}"><sheetViews>'
                    '<sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                    'activePane="bottomLeft" state="frozen"/>'
                    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>'
                    f'</sheetViews><cols>{cols}</cols><sheetData><row r="1">{head}</row>'
                ).encode()
            )
            parts: list[str] = []
            for number, values in enumerate(rows, start=2):
                parts.append(f'<row r="{number}">')
                for letter, value in zip(letters, values, strict=True):
                    if value is None or value == "":
                        continue
                    if isinstance(value, datetime):
                        parts.append(
                            f'<c r="{letter}{number}" s="{_DATE}"><v>{_serial(value)}</v></c>'
                        )
                    else:
                        parts.append(
                            f'<c r="{letter}{number}" t="inlineStr"><is>'
                            f'<t xml:space="preserve">{_text(value)}</t></is></c>'
                        )
                parts.append("</row>")
                if number % batch == 0:
                    sheet.write("".join(parts).encode())
                    parts.clear()
            parts.append("</sheetData></worksheet>")
            sheet.write("".join(parts).encode())
