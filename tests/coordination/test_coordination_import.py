"""Completion import: a preview that shows every row and error, then an all-or-nothing apply."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from courses.catalog.models import Edition
from courses.certificates.models import Certificate
from courses.coordination.models import Coordinator
from courses.extensions import db
from courses.participants.models import ModuleCompletion
from tests.factories import (
    NOW,
    audit_actions,
    complete,
    csrf_token,
    login_new,
    make_course,
    make_enrollment,
)
from tests.factories import row_counts as counts

BASE = "/coordinator/pesca-acuicultura/2023"


@pytest.fixture
def edition(app) -> int:
    """The edition (committed) with Ana (Perú), Bruno (Chile, module 1) and Cata (waiting);
    Dora is in another course. Its id."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(completion="coordinator")
        other = make_course("otro-curso", edition_slug="2024")
        make_enrollment(edition, "Ana Núñez", email="ana@example.org", country="PE")
        bruno = make_enrollment(edition, "Bruno Soto", email="Bruno@Example.org", country="CL")
        complete(bruno, 1)
        make_enrollment(edition, "Cata Espera", email="cata@example.org", waiting=True)
        make_enrollment(other, "Dora Otra", email="dora@example.org")
        db.session.commit()
        return edition.id


def _upload(client, data: bytes):
    url = f"{BASE}/completions/import"
    return client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "file": (io.BytesIO(data), "modulos.csv")},
    )


def _payload(html: str) -> str:
    return re.search(r'name="payload" value="([^"]+)"', html).group(1)


def _apply(client, payload: str):
    url = f"{BASE}/completions/apply"
    token = csrf_token(client, f"{BASE}/completions/import")
    return client.post(url, data={"csrf_token": token, "payload": payload})


def test_preview_shows_every_error_and_nothing_changes(app, edition, client):
    login_new(app, client)
    with app.app_context():
        before = counts()
    data = (
        "correo,módulos\n"
        "ana@example.org,1 2 3\n"
        "nadie@example.org,1\n"
        "dora@example.org,2\n"
        "bruno@example.org,7;x\n"
        "cata@example.org,all\n"
        ",1\n"
        "ana@example.org,\n"
    ).encode()
    response = _upload(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Marcar módulos 1, 2, 3." in html
    # An unknown address and one registered elsewhere read the same.
    assert html.count("No se encontró en esta edición.") == 2
    assert "«7» no es un número de módulo (el curso tiene 6)." in html
    assert "«x» no es un número de módulo" in html
    assert "Está en la lista de espera" in html
    assert "Falta el correo." in html
    assert "Faltan los números de módulo." in html
    assert "6 filas tienen errores" in html
    assert "Aplicar la importación" not in html
    with app.app_context():
        assert counts() == before


def test_a_forged_apply_with_errors_changes_nothing(app, edition, client):
    login_new(app, client)
    good = _upload(client, b"ana@example.org,1 2\n")
    assert good.status_code == 200
    # A payload with a bad row, signed properly (as if the data changed since the preview).
    from courses.coordination import imports

    with app.app_context():
        coordinator = db.session.scalar(select(Coordinator))
        bad = imports.sign(
            coordinator,
            db.session.get(Edition, edition),
            [(1, "ana@example.org", "1 2"), (2, "nadie@example.org", "1")],
        )
        before = counts()
    response = _apply(client, bad)
    assert response.status_code == 422
    assert "no se aplicó nada" in response.get_data(as_text=True)
    with app.app_context():
        assert counts() == before
    # A tampered payload is refused outright.
    response = _apply(client, _payload(good.get_data(as_text=True)) + "x")
    assert response.status_code == 303
    with app.app_context():
        assert counts() == before


def test_fixed_file_is_applied_whole_and_issues_certificates(app, edition, client):
    login_new(app, client, "country", country="PE")
    # Perú's focal point: Bruno (Chile) is outside the scope.
    response = _upload(client, b"email,modules\nana@example.org,all\nbruno@example.org,2\n")
    assert response.status_code == 422
    assert "No se encontró en esta edición." in response.get_data(as_text=True)
    # Fixed file, semicolon separated as Spanish Excel saves it, in Windows-1252.
    response = _upload(client, "correo;módulos\nANA@example.org;1 2 3 4 5 6\n".encode("cp1252"))
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "Todas las filas están bien: se marcarán 6 módulos." in html
    response = _apply(client, _payload(html))
    assert response.status_code == 303
    with app.app_context():
        marked = db.session.scalars(select(ModuleCompletion.source)).all()
        assert marked.count("import") == 6
        certificate = db.session.scalar(select(Certificate))
        assert certificate is not None and certificate.holder_name == "Ana Núñez"
        assert audit_actions()[-1] == "import.completions"
    # Applying the same file again changes nothing more.
    again = _upload(client, b"ana@example.org,all\n")
    assert "Nada que cambiar." in again.get_data(as_text=True)


def test_an_unreadable_upload_is_refused_next_to_the_field(app, edition, client):
    login_new(app, client)
    with app.app_context():
        before = counts()
    response = _upload(client, b"\n\n")
    assert response.status_code == 400
    assert "El archivo no tiene filas con datos." in response.get_data(as_text=True)
    url = f"{BASE}/completions/import"
    response = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 400
    assert 'aria-describedby="file-hint file-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert counts() == before


def test_a_file_larger_than_the_sites_form_limit_is_still_previewed(app, edition, client):
    login_new(app, client)
    rows = "".join(f"persona.numero.{n}@cooperativa.example.org,1 2 3\n" for n in range(3000))
    data = ("correo,modulos\n" + rows).encode()
    assert len(data) > 64 * 1024
    response = _upload(client, data)
    assert response.status_code == 422
    assert "3000 filas tienen errores" in response.get_data(as_text=True)
