"""A certificate that looks official: signatories, logos, hours, country, edition name, language."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from PIL import Image
from sqlalchemy import select

from courses.catalog.models import Course, Edition
from courses.extensions import db
from courses.participants.services import mark_module
from tests.factories import NOW, enroll

COURSE = """\
slug = "oficial"
title = { es = "Curso oficial", en = "Official course" }
timezone = "America/Lima"
countries = ["PE", "CL"]
organizers = ["Future of Fish"]

[[modules]]
title = { es = "Uno", en = "One" }
minutes = 90

[[modules]]
title = { es = "Dos", en = "Two" }
minutes = 60

[[editions]]
slug = "2024"
name = { es = "Ciclo 2024", en = "2024 cycle" }
registration_closes = 2030-07-21
"""

BRANDING = """
[[signatories]]
name = "Dra. Ana Rojas"
role = { es = "Directora ejecutiva", en = "Executive director" }
signature = "firma.png"

[[signatories]]
name = "Juan Pérez"
role = "Coordinador"

[[logos]]
file = "logo.jpg"
name = "Alianza del Pacífico"
"""


def _image(path: Path, size=(300, 100), kind="PNG", color=(20, 90, 160)) -> Path:
    Image.new("RGB", size, color).save(path, format=kind)
    return path


def _load(app, folder: Path, text: str):
    course_file = folder / "oficial.toml"
    course_file.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["courses", "load", str(course_file)])


def _earn(app, locale="es", country="PE") -> str:
    with app.app_context():
        edition = db.session.scalar(select(Edition).where(Edition.slug == "2024"))
        enrollment, token = enroll(edition, locale=locale, name="Rosa Quispe")
        enrollment.country = country
        for module in edition.course.modules:
            mark_module(enrollment, module, source="coordinator", now=NOW)
        db.session.commit()
    return token


def _pdf_text(data: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()


def test_certificate_shows_signatories_logo_hours_country_and_edition_name(app, client, tmp_path):
    _image(tmp_path / "firma.png")
    _image(tmp_path / "logo.jpg", size=(400, 160), kind="JPEG")
    result = _load(app, tmp_path, COURSE + BRANDING)
    assert result.exit_code == 0, result.output
    token = _earn(app)

    pdf = client.get(f"/my/{token}/certificate.pdf").data
    text = _pdf_text(pdf)
    for expected in (
        "Dra. Ana Rojas",
        "Directora ejecutiva",
        "Juan Pérez",
        "Duración total: 2,5 horas",
        "País: Perú",
        "Ciclo 2024",
        "1. Uno (90 min)",
    ):
        assert expected in text, expected
    images = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    assert len(images) == 2  # the logo and the signature

    english = _pdf_text(client.get(f"/my/{token}/certificate.pdf?lang=en").data)
    assert "Certificate of participation".upper() in english.upper()
    assert "Executive director" in english and "2024 cycle" in english
    assert "Country: Peru" in english and "Total duration: 2.5 hours" in english

    png = client.get(f"/my/{token}/certificate.png?lang=en")
    assert png.status_code == 200 and png.mimetype == "image/png"

    page = client.get(f"/my/{token}").text
    assert "Download the certificate in English (PDF)" in page


def test_pdf_without_logos_stays_under_60_kb(app, client, tmp_path):
    assert _load(app, tmp_path, COURSE).exit_code == 0
    token = _earn(app)
    assert len(client.get(f"/my/{token}/certificate.pdf").data) <= 60 * 1024


def test_verify_page_shows_modules_and_hours(app, client, tmp_path):
    assert _load(app, tmp_path, COURSE).exit_code == 0
    token = _earn(app)
    credential = client.get(f"/my/{token}/credential.json").get_json()
    page = client.get(credential["id"].removeprefix("http://certificados.test")).text
    assert "1. Uno" in page and "2. Dos" in page
    assert "2,5 horas" in page and "Ciclo 2024" in page
    assert (
        "Duración total: 2,5 horas"
        in credential["credentialSubject"]["achievement"]["criteria"]["narrative"]
    )


@pytest.mark.parametrize(
    ("branding", "files", "key", "reason"),
    [
        (
            '[[logos]]\nfile = "logo.gif"\nname = "x"\n',
            {"logo.gif": "GIF"},
            "logos[1].file",
            "PNG or JPEG",
        ),
        (
            '[[logos]]\nfile = "big.png"\nname = "x"\n',
            {"big.png": "BIG"},
            "logos[1].file",
            "at most 200 KB",
        ),
        (
            '[[logos]]\nfile = "huge.png"\nname = "x"\n',
            {"huge.png": "HUGE"},
            "logos[1].file",
            "at most 2000",
        ),
        ('[[logos]]\nfile = "../logo.png"\nname = "x"\n', {}, "logos[1].file", "own folder"),
        ('[[logos]]\nfile = "missing.png"\nname = "x"\n', {}, "logos[1].file", "cannot be read"),
        (
            '[[logos]]\nfile = "fake.png"\nname = "x"\n',
            {"fake.png": "TEXT"},
            "logos[1].file",
            "not a readable",
        ),
        ('[[logos]]\nfile = "logo.png"\n', {"logo.png": "PNG"}, "logos[1].name", "missing"),
        ('[[signatories]]\nrole = "Directora"\n', {}, "signatories[1].name", "missing"),
        ('[[signatories]]\nname = "Ana"\n', {}, "signatories[1].role", "missing"),
        # The registration name rule: a right-to-left override would reverse text on the PDF.
        (
            '[[signatories]]\nname = "Ana \\u202eRojas"\nrole = "x"\n',
            {},
            "signatories[1].name",
            "bidirectional",
        ),
        ('[[signatories]]\nname = 42\nrole = "x"\n', {}, "signatories[1].name", "usable name"),
        (
            '[[logos]]\nfile = "logo.png"\nname = "Logo\\u0007"\n',
            {"logo.png": "PNG"},
            "logos[1].name",
            "control",
        ),
        (
            '[[signatories]]\nname = "Ana"\nrole = "x"\nstamp = "y"\n',
            {},
            "signatories[1].stamp",
            "unknown key",
        ),
        ('[[signatories]]\nname = "A"\nrole = "x"\n' * 4, {}, "signatories", "at most 3"),
    ],
)
def test_bad_logos_or_signatories_refuse_the_whole_file(
    app, tmp_path, branding, files, key, reason
):
    for name, kind in files.items():
        path = tmp_path / name
        if kind == "GIF":
            _image(path, kind="GIF")
        elif kind == "BIG":
            # Noise does not compress: well over 200 KB as a PNG.
            Image.frombytes("RGB", (400, 400), bytes(range(256)) * 1875).save(path, format="PNG")
            path.write_bytes(path.read_bytes() + bytes(200 * 1024))
        elif kind == "HUGE":
            _image(path, size=(2400, 10))
        elif kind == "TEXT":
            path.write_text("not an image")
        else:
            _image(path)
    (tmp_path / "sub").mkdir()
    result = _load(app, tmp_path / "sub" if "../" in branding else tmp_path, COURSE + branding)
    if "../" in branding:
        _image(tmp_path / "logo.png")
        result = _load(app, tmp_path / "sub", COURSE + branding)
    assert result.exit_code == 1
    assert f"oficial.toml: {key}: " in result.output and reason in result.output, result.output
    assert "nothing was loaded" in result.output
    with app.app_context():
        assert db.session.scalar(select(Course).where(Course.slug == "oficial")) is None
