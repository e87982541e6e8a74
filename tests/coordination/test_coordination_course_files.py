"""Course files from the browser: preview, all-or-nothing apply through the CLI's loader,
download of the current file; admins only."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import courses.catalog
from courses.catalog import upsert
from courses.catalog.loader import read_course_files
from courses.catalog.models import Course, Edition, Module
from courses.coordination.models import AuditEntry
from courses.extensions import db
from tests.factories import NOW, csrf_token, login, make_coordinator

BUNDLED = Path(courses.catalog.__file__).parent / "pesca-acuicultura.toml"
TEXT = BUNDLED.read_text(encoding="utf-8")
CHANGED = TEXT.replace(
    'title = { es = "Ventas", en = "Sales" }', 'title = { es = "Ventas y precios", en = "Sales" }'
) + (
    '\n[[editions]]\nslug = "2027"\nregistration_opens = 2027-03-01\n'
    "registration_closes = 2027-04-30\ncomplete_by = 2027-06-30\ncapacity = 500\n"
)


@pytest.fixture
def admin(app):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        upsert.load_courses(read_course_files([BUNDLED]))
        people = {
            "admin": make_coordinator("admin").email,
            "course": make_coordinator("course", course=db.session.scalar(select(Course))).email,
            "country": make_coordinator("country", country="PE").email,
        }
        db.session.commit()
    return people


def _upload(client, text: str, name: str = "pesca-acuicultura.toml"):
    token = csrf_token(client, "/coordinator/courses")
    return client.post(
        "/coordinator/courses/preview",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def _state(app) -> dict:
    with app.app_context():
        return {
            "modules": [
                m.title["es"] for m in db.session.scalars(select(Module).order_by(Module.position))
            ],
            "editions": sorted(db.session.scalars(select(Edition.slug))),
            "audit": db.session.scalar(
                select(func.count()).where(AuditEntry.action == "course.load")
            ),
        }


def test_preview_lists_what_apply_then_does(app, client, admin):
    login(client, admin["admin"])
    before = _state(app)
    response = _upload(client, CHANGED)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "El módulo 4 cambia de título: «Ventas» → «Ventas y precios»" in page
    assert "Edición nueva 2027:" in page and "cupos 500" in page
    assert "Módulo nuevo" not in page and "Se quita" not in page
    assert _state(app) == before  # the preview changes nothing
    payload = re.search(r'name="payload" value="([^"]+)"', page).group(1)
    token = csrf_token(client, "/coordinator/courses")
    response = client.post(
        "/coordinator/courses/apply", data={"csrf_token": token, "payload": payload}
    )
    assert response.status_code == 303
    after = _state(app)
    assert after["modules"][3] == "Ventas y precios"
    assert after["modules"][:3] == before["modules"][:3]
    assert after["editions"] == sorted([*before["editions"], "2027"])
    assert after["audit"] == 1
    with app.app_context():
        edition = db.session.scalar(select(Edition).where(Edition.slug == "2027"))
        santiago = ZoneInfo("America/Santiago")
        assert edition.registration_closes == datetime(2027, 5, 1, tzinfo=santiago)
        assert edition.capacity == 500
    # The same file again: nothing left to change; and it is the file offered for download.
    assert "no cambia nada" in _upload(client, CHANGED).get_data(as_text=True)
    download = client.get("/coordinator/courses/pesca-acuicultura.toml")
    assert download.status_code == 200 and download.get_data(as_text=True) == CHANGED


def test_preview_names_every_course_setting_the_file_changes_signatories_included(
    app, client, admin
):
    login(client, admin["admin"])
    signed = TEXT + '\n[[signatories]]\nname = "Ana Pérez"\nrole = "Directora"\n'
    page = _upload(client, signed).get_data(as_text=True)
    assert "no cambia nada" not in page
    assert "Cambia «signatories» del curso" in page
    assert "Cambia «logos» del curso" not in page


def test_preview_names_an_editions_new_certificate_name(app, client, admin):
    login(client, admin["admin"])
    renamed = TEXT.replace(
        'name = { es = "Ciclo 2023", en = "2023 cycle" }',
        'name = { es = "Primer ciclo", en = "First cycle" }',
    )
    assert renamed != TEXT
    page = _upload(client, renamed).get_data(as_text=True)
    assert "no cambia nada" not in page
    assert (
        "La edición 2023 cambia:\n    nombre en los certificados "
        "Ciclo 2023 / 2023 cycle → Primer ciclo / First cycle</li>" in page
    )
    assert "Edición nueva 2027:" in _upload(client, CHANGED).get_data(as_text=True)
    assert "nombre en los certificados" not in _upload(client, CHANGED).get_data(as_text=True)


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("slug = [", "", "not valid TOML"),
        (
            TEXT.replace('timezone = "America/Santiago"', 'timezone = "Mars/Base"'),
            "timezone",
            "unknown time zone",
        ),
        (TEXT + "\nsurprise = 1\n", "surprise", ""),
    ],
)
def test_a_bad_file_is_refused_whole_with_file_key_and_reason(
    app, client, admin, text, key, reason
):
    login(client, admin["admin"])
    before = _state(app)
    response = _upload(client, text, "mi-curso.toml")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "no se aplicó nada" in page and "<code>mi-curso.toml</code>" in page
    assert key in page and reason in page
    assert "/tmp" not in page  # the private temporary path is never shown
    assert _state(app) == before


@pytest.mark.parametrize("role", ["course", "country"])
def test_only_admins_reach_course_files(app, client, admin, role):
    login(client, admin[role])
    assert client.get("/coordinator/courses").status_code == 404
    assert client.get("/coordinator/courses/pesca-acuicultura.toml").status_code == 404
    token = csrf_token(client, "/coordinator/password")
    response = client.post(
        "/coordinator/courses/preview",
        data={"csrf_token": token, "file": (io.BytesIO(CHANGED.encode()), "x.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert (
        client.post(
            "/coordinator/courses/apply", data={"csrf_token": token, "payload": "x"}
        ).status_code
        == 404
    )
    assert "/coordinator/courses" not in client.get("/coordinator/").get_data(as_text=True)
    assert _state(app)["editions"] == ["2023"]


def test_the_cli_load_keeps_the_file_for_download(app, runner, client):
    result = runner.invoke(args=["courses", "load", str(BUNDLED)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(Course.source_toml)) == TEXT
        email = make_coordinator("admin").email
        db.session.commit()
    login(client, email)
    assert client.get("/coordinator/courses/pesca-acuicultura.toml").get_data(as_text=True) == TEXT
