"""The words a coordinator reads: sentences with names in the audit log, roles in Spanish,
course titles instead of slugs, times with their zone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from courses.coordination.models import AuditEntry
from courses.extensions import db
from tests.factories import (
    NOW,
    login,
    make_coordinator,
    make_course,
    make_enrollment,
    post,
    slug_title,
)

BASE = "/coordinator/pesca-acuicultura/2023"


@pytest.fixture
def logged(app):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(title=slug_title("pesca-acuicultura"))
        person = make_enrollment(edition, "Juan Pérez Quispe", country="PE")
        admin = make_coordinator("admin", email="ana@coordinacion.org")
        make_coordinator("country", email="focal.pe@coordinacion.org", country="PE")
        db.session.add_all(
            [
                AuditEntry(
                    coordinator_id=admin.id,
                    actor=admin.email,
                    action="name_correction.approve",
                    target=f"enrollment:{person.id}",
                    details={"old_name": "Juan Perez", "new_name": "Juan Pérez Quispe"},
                    at=NOW - timedelta(days=3),
                ),
                AuditEntry(
                    actor="focal.pe@coordinacion.org",
                    action="export.csv",
                    target=f"edition:{edition.id}",
                    details={"rows": 12, "filters": {"country": "PE"}},
                    at=NOW,
                ),
            ]
        )
        db.session.commit()
        return person.id


def test_audit_log_reads_as_sentences_with_names_and_local_time(app, client, logged):
    login(client, "ana@coordinacion.org")
    page = client.get("/coordinator/audit").get_data(as_text=True)
    assert "aprobó el cambio de nombre de «Juan Perez» a «Juan Pérez Quispe»" in page
    assert (
        "focal.pe@coordinacion.org descargó en CSV 12 inscritos de «Curso pesca-acuicultura», "
        "edición 2023." in page
    )
    assert "\\u00e9" not in page and "Juan Pérez Quispe" in page
    # 2023-07-10 15:00 UTC, shown in the first course's zone and labelled with it.
    assert "Cuándo (hora de Chile)" in page and "10 jul 2023, 11:00" in page


def test_audit_log_filters_by_person_kind_and_day(app, client, logged):
    login(client, "ana@coordinacion.org")

    def shown(**args) -> tuple[bool, bool]:
        page = client.get("/coordinator/audit", query_string=args).get_data(as_text=True)
        return "cambio de nombre" in page, "descargó en CSV" in page

    assert shown(person="focal.pe") == (False, True)
    assert shown(kind="name_correction") == (True, False)
    assert shown(since="2023-07-08") == (False, True)
    assert shown(until="2023-07-08") == (True, False)
    assert shown(kind="nonsense", since="yesterday") == (True, True)


def test_roles_are_named_in_spanish_and_headings_use_titles(app, client, logged):
    login(client, "ana@coordinacion.org")
    page = client.get("/coordinator/accounts").get_data(as_text=True)
    assert "<td>Punto focal de país</td>" in page and "<td>Administración</td>" in page
    assert ">country<" not in page and ">admin<" not in page
    page = client.get(f"{BASE}/enrollments").get_data(as_text=True)
    assert "Curso pesca-acuicultura · edición 2023" in page
    assert "pesca-acuicultura / 2023" not in page


def test_module_sources_are_words(app, client, logged):
    login(client, "ana@coordinacion.org")
    url = f"{BASE}/enrollments/{logged}"
    assert post(client, url + "/modules/1", {"action": "mark"}).status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "(lo marcó la coordinación)" in page and "(coordinator)" not in page
