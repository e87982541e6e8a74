"""Exports read back with independent parsers: csv (with the BOM) and openpyxl."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta

import openpyxl
import pytest
from openpyxl.utils.escape import unescape

from courses.catalog.models import Edition
from courses.coordination.exports import neutralise
from courses.extensions import db
from courses.registration.questions import choice_counts
from tests.factories import (
    NOW,
    audit_actions,
    complete,
    login_new,
    make_certificate,
    make_course,
    make_enrollment,
    numbered_modules,
)

BASE = "/coordinator/pesca-acuicultura/2023/enrollments"
HEADER = [
    "ID",
    "Nombre",
    "Correo electrónico",
    "Teléfono",
    "Código de país",
    "País",
    "Organización",
    "Inscripción (hora de Chile)",
    "Correo confirmado",
    "Módulos completados",
    "Módulos en total",
    "Completó el (hora de Chile)",
    "Código de certificado",
    "Estado",
] + [f"Módulo {n}: Módulo {n} (completado el, hora de Chile)" for n in range(1, 7)]
FORMULAS = ['=HYPERLINK("http://evil")', "+SUM(1)", "-2+3", "@cmd", "\tTab", "\rCR"]


@pytest.fixture
def edition(app) -> int:
    app.config["FIXED_NOW"] = NOW
    """The edition (committed): José, certified, and people whose organisations look like
    formulas."""
    with app.app_context():
        edition = make_course(module_titles=numbered_modules(6))
        # 2023-07-09 15:00 UTC is 11:00 in Santiago (UTC-4 in July).
        person = make_enrollment(
            edition,
            "José Núñez Ñuble",
            email="jose@example.org",
            phone="+56912345678",
            organization="Caleta «Los Ángeles»",
            confirmed=True,
            created_at=NOW - timedelta(days=1),
        )
        complete(person, 1, 2, 3, 4, 5, 6)
        make_certificate(person, code="ABCDE23456")
        for number, text in enumerate(FORMULAS):
            make_enrollment(
                edition,
                f"Persona {number}",
                organization=text,
                country="PE",
                phone="+51987654321",
                created_at=NOW - timedelta(hours=number + 1),
            )
        make_enrollment(edition, "-5", organization="+56 9 1234", country="CO", created_at=NOW)
        db.session.commit()
        return edition.id


def _csv(response, delimiter=","):
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def test_csv_export_is_excel_ready_and_neutralises_formulas(app, edition, client):
    login_new(app, client)
    response = client.get(BASE + ".csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="pesca-acuicultura_2023_2023-07-10.csv"'
    rows = _csv(response)
    assert rows[0] == HEADER
    jose = rows[1]
    assert jose[1:8] == [
        "José Núñez Ñuble",
        "jose@example.org",
        "+56912345678",  # a pure number stays intact
        "CL",
        "Chile",
        "Caleta «Los Ángeles»",
        "2023-07-09 11:00",
    ]
    assert jose[8:14] == ["sí", "6", "6", "2023-07-10 11:00", "ABCDE-23456", "Con certificado"]
    assert jose[14:] == ["2023-07-10 11:00"] * 6  # the day each module was completed
    assert rows[2][9:11] == ["0", "6"] and rows[2][14:] == [""] * 6
    organisations = {row[1]: row[6] for row in rows[1:]}
    for number, text in enumerate(FORMULAS):
        assert organisations[f"Persona {number}"] == "'" + text
    # "-5" is a plain number (kept); "+56 9 1234" has spaces, so it is neutralised.
    assert "-5" in organisations and organisations["-5"] == "'+56 9 1234"
    assert {row[3] for row in rows[1:]} >= {"+56912345678", "+51987654321"}
    with app.app_context():
        assert audit_actions()[-1] == "export.csv"


def test_csv_semicolon_option_and_filters_match_the_list(app, edition, client):
    login_new(app, client)
    rows = _csv(client.get(BASE + ".csv?sep=semicolon&country=PE&sort=name"), ";")
    assert [row[1] for row in rows[1:]] == [f"Persona {n}" for n in range(len(FORMULAS))]
    assert all(row[4] == "PE" and row[5] == "Perú" for row in rows[1:])
    rows = _csv(client.get(BASE + ".csv?q=nunez"))
    assert [row[1] for row in rows[1:]] == ["José Núñez Ñuble"]


def test_neutralise_rule():
    assert neutralise("+56912345678") == "+56912345678"
    assert neutralise("-12,5") == "-12,5"
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+1)") == "'+1)"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("Ana") == "Ana"


def test_xlsx_export_has_text_and_dates_never_formulas(app, edition, client):
    login_new(app, client)
    response = client.get(BASE + ".xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert 30 <= sheet.column_dimensions["B"].width < 31  # Excel adds its own padding
    rows = list(sheet.iter_rows(values_only=True))
    assert sheet.auto_filter.ref == f"A1:T{len(rows)}"
    assert list(rows[0]) == HEADER
    jose = rows[1]
    assert isinstance(jose[0], int) and jose[0] >= 1  # ids are numbers, not text
    assert jose[1] == "José Núñez Ñuble"
    assert jose[3] == "+56912345678"
    assert jose[7] == datetime(2023, 7, 9, 11, 0)
    assert jose[9:11] == (6, 6)  # completed, in total: numbers a filter can compare
    assert jose[11] == datetime(2023, 7, 10, 11, 0)
    assert jose[12] == "ABCDE-23456"
    assert jose[14:] == (datetime(2023, 7, 10, 11, 0),) * 6
    assert rows[2][9:11] == (0, 6)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type in ("s", "d", "n"), (cell.coordinate, cell.data_type)
            assert cell.data_type != "f"
            if cell.value is not None and cell.data_type == "n" and cell.column not in (1, 10, 11):
                assert cell.is_date, cell.coordinate
            if cell.column == 4:  # phones stay text, "+" and all
                assert cell.data_type == "s", cell.coordinate
    organisations = {row[1]: row[6] for row in rows[1:]}
    for number, text in enumerate(FORMULAS):
        # In XLSX a text cell cannot run, so the value is kept exactly as typed. A carriage
        # return is written as the standard "_x000D_" escape, which Excel decodes but
        # openpyxl leaves as is in inline strings.
        assert unescape(organisations[f"Persona {number}"]) == text, number
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    with app.app_context():
        assert audit_actions()[-1] == "export.xlsx"


def test_cli_export_gives_the_same_files(app, edition, runner, client, tmp_path):
    target = tmp_path / "out.csv"
    result = runner.invoke(
        args=[
            "enrollments",
            "export",
            "pesca-acuicultura/2023",
            "--format",
            "csv",
            "-o",
            str(target),
        ]
    )
    assert result.exit_code == 0, result.output
    login_new(app, client)
    assert target.read_bytes() == client.get(BASE + ".csv").get_data()
    xlsx = tmp_path / "out.xlsx"
    result = runner.invoke(
        args=[
            "enrollments",
            "export",
            "pesca-acuicultura/2023",
            "--format",
            "xlsx",
            "-o",
            str(xlsx),
        ]
    )
    assert result.exit_code == 0, result.output
    cli_rows = list(openpyxl.load_workbook(xlsx).active.iter_rows(values_only=True))
    web = client.get(BASE + ".xlsx").get_data()
    web_rows = list(openpyxl.load_workbook(io.BytesIO(web)).active.iter_rows(values_only=True))
    assert cli_rows == web_rows
    with app.app_context():
        assert "export.csv" in audit_actions() and "export.xlsx" in audit_actions()
    result = runner.invoke(args=["enrollments", "export", "nope/2023", "-o", str(target)])
    assert result.exit_code == 1
    assert "nope/2023" in result.output


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_reads_the_xlsx_export_with_text_dates_and_no_formulas(
    app, edition, client, tmp_path
):
    login_new(app, client)
    source = tmp_path / "export.xlsx"
    source.write_bytes(client.get(BASE + ".xlsx").get_data())
    # LibreOffice re-saves the sheet as CSV: a formula would show its result, not its text.
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    rows = list(csv.reader(io.StringIO((tmp_path / "export.csv").read_text("utf-8"))))
    assert rows[0] == HEADER
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["José Núñez Ñuble"][3] == "+56912345678"
    assert by_name["José Núñez Ñuble"][7].startswith("2023-07-09 11:00")
    assert by_name["Persona 0"][6] == FORMULAS[0]


def test_csv_links_name_the_countries_whose_excel_uses_each_separator(app, edition, client):
    login_new(app, client)
    page = client.get(BASE).get_data(as_text=True)
    assert "CSV (Excel en México y Perú: coma)" in page
    assert "CSV (Excel en Chile y Colombia: punto y coma)" in page


def test_extra_questions_are_their_own_columns_in_both_exports(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(module_titles=numbered_modules(6))
        edition.course.questions = [
            {
                "key": "gender",
                "label": {"es": "Género", "en": "Gender"},
                "kind": "choice",
                "choices": [{"es": "Mujer", "en": "Woman"}, {"es": "Hombre", "en": "Man"}],
                "required": False,
            },
            {
                "key": "boat",
                "label": {"es": "Bote"},
                "kind": "text",
                "choices": [],
                "required": False,
            },
        ]
        first = make_enrollment(edition, "Ana Uno")
        first.answers = {"gender": "Mujer", "boat": "=La Esperanza"}
        second = make_enrollment(edition, "Ana Dos")
        second.answers = {"gender": "Mujer"}
        make_enrollment(edition, "Sin Respuesta")
        edition_id = edition.id
        db.session.commit()
    login_new(app, client)
    rows = _csv(client.get(f"{BASE}.csv"))
    assert rows[0] == HEADER + ["gender", "boat"]
    by_name = {row[1]: row[-2:] for row in rows[1:]}
    assert by_name == {
        "Ana Uno": ["Mujer", "'=La Esperanza"],
        "Ana Dos": ["Mujer", ""],
        "Sin Respuesta": ["", ""],
    }
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"{BASE}.xlsx").get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == HEADER + ["gender", "boat"]
    cells = {row[1]: tuple(row[-2:]) for row in values[1:]}
    assert cells["Ana Uno"] == ("Mujer", "=La Esperanza")
    ana = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == "Ana Uno")
    assert ana[-1].data_type == "s", "text, never a formula"
    with app.app_context():
        edition = db.session.get(Edition, edition_id)
        [gender] = choice_counts(edition, "en", "No answer")
    assert [(c.label, c.count) for c in gender.choices] == [
        ("Woman", 2),
        ("Man", 0),
        ("No answer", 1),
    ]


def test_xlsx_text_shaped_like_xml_rich_text_stays_text(app, client):
    """An organisation typed as "<r>…</r>" is one text cell: it cannot add a formula cell."""
    payload = '<r><t>a</t></r></is></c><c r="Z2"><f>HYPERLINK("http://evil")</f></c><is><r></r>'
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(module_titles=numbered_modules(6))
        make_enrollment(edition, "Ana Rica", organization=payload)
        db.session.commit()
    login_new(app, client)
    data = client.get(BASE + ".xlsx").get_data()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    [ana] = [row for row in sheet.iter_rows(min_row=2) if row[1].value == "Ana Rica"]
    assert (ana[6].value, ana[6].data_type) == (payload, "s")
    assert sheet["Z2"].value is None
    assert _csv(client.get(BASE + ".csv"))[1][6] == payload
