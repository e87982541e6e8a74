"""The enrollee page: correcting contact details, re-sending the link, finding people by phone."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from courses.coordination.models import AuditEntry
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.registration.models import Enrollment
from courses.registration.tokens import personal_link, token_for
from tests.factories import (
    NOW,
    login,
    make_coordinator,
    make_course,
    make_enrollment,
    post,
)
from tests.factories import row_counts as counts

BASE = "/coordinator/pesca-acuicultura/2023"


@pytest.fixture
def peru(app):
    """An edition with Rosa (Perú) and Ana (Chile), and one coordinator of each role."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        rosa = make_enrollment(
            edition,
            "Rosa Quispe",
            email="rosa@example.org",
            country="PE",
            phone="+51987654321",
            organization="Pescadores de Paita",
        )
        ana = make_enrollment(edition, "Ana Pérez", email="ana@example.org", country="CL")
        other = make_course("otro-curso")
        people = {
            "PE": make_coordinator("country", country="PE").email,
            "CL": make_coordinator("country", country="CL").email,
            "course": make_coordinator("course", course=edition.course).email,
            "other_course": make_coordinator("course", course=other.course).email,
            "admin": make_coordinator("admin").email,
        }
        ids = {"rosa": rosa.id, "ana": ana.id}
        db.session.commit()
    return people, ids


def _person(app, enrollment_id: int) -> dict:
    with app.app_context():
        person = db.session.get(Enrollment, enrollment_id)
        return {
            key: getattr(person, key)
            for key in ("name", "email", "email_key", "phone", "organization")
        }


def _outbox(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [
            (m.kind, m.recipient, m.body_text)
            for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def test_focal_point_corrects_contact_details_and_the_new_address_gets_the_link(app, client, peru):
    people, ids = peru
    login(client, people["PE"])
    url = f"{BASE}/enrollments/{ids['rosa']}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="rosa@example.org"' in page and "Reenviar el enlace personal" in page
    response = post(
        client,
        url + "/contact",
        {
            "name": "  Rosa   Quispe Huamán ",
            "email": "Rosa.Quispe@Example.org",
            "phone": "912 345 678",  # national format of Perú
            "organization": "Pescadores de Paita",
        },
    )
    assert response.status_code == 303
    assert _person(app, ids["rosa"]) == {
        "name": "Rosa Quispe Huamán",
        "email": "Rosa.Quispe@example.org",
        "email_key": "rosa.quispe@example.org",
        "phone": "+51912345678",
        "organization": "Pescadores de Paita",
    }
    with app.app_context():
        salt = db.session.get(Enrollment, ids["rosa"]).token_salt
        link = personal_link(token_for(salt))
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry.action == "enrollment.contact"
        assert entry.target == f"enrollment:{ids['rosa']}"
        assert entry.details["before"] == {
            "name": "Rosa Quispe",
            "email": "rosa@example.org",
            "phone": "+51987654321",
        }
        assert entry.details["after"]["phone"] == "+51912345678"
    mails = _outbox(app)
    assert [(kind, to) for kind, to, _ in mails] == [
        ("email-changed", "Rosa.Quispe@example.org"),
        ("email-changed-old", "rosa@example.org"),
    ]
    assert link in mails[0][2]
    assert link not in mails[1][2] and "cambió el correo" in mails[1][2]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "R", "entre 2 y 120"),
        ("name", "1234", "con letras"),
        ("email", "rosa@", "nombre@ejemplo.com"),
        ("email", "ANA@example.org", "Ya hay otra inscripción con ese correo"),
        ("phone", "12", "Ejemplo para Perú"),
        ("organization", "", "Escribe tu organización"),
    ],
)
def test_a_refused_correction_shows_the_reason_beside_the_field_and_changes_nothing(
    app, client, peru, field, value, message
):
    people, ids = peru
    login(client, people["admin"])
    typed = {
        "name": "Rosa Quispe",
        "email": "rosa@example.org",
        "phone": "987654321",
        "organization": "Pescadores de Paita",
    }
    before, person = None, _person(app, ids["rosa"])
    with app.app_context():
        before = counts()
    response = post(client, f"{BASE}/enrollments/{ids['rosa']}/contact", {**typed, field: value})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert f'id="{field}" ' in page and 'aria-invalid="true"' in page
    assert _person(app, ids["rosa"]) == person
    with app.app_context():
        assert counts() == before
        assert not db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "enrollment.contact")
        )


def test_resend_link_mails_the_personal_link_and_is_audited(app, client, peru):
    people, ids = peru
    login(client, people["course"])
    response = post(client, f"{BASE}/enrollments/{ids['rosa']}/link")
    assert response.status_code == 303
    [(kind, recipient, body)] = _outbox(app)
    assert (kind, recipient) == ("link-resent", "rosa@example.org")
    with app.app_context():
        salt = db.session.get(Enrollment, ids["rosa"]).token_salt
        assert personal_link(token_for(salt)) in body
        assert (
            db.session.scalar(
                select(AuditEntry.target).where(AuditEntry.action == "enrollment.link_resent")
            )
            == f"enrollment:{ids['rosa']}"
        )


@pytest.mark.parametrize("role", ["CL", "other_course"])
def test_out_of_scope_enrollee_is_404_on_every_page_and_action(app, client, peru, role):
    people, ids = peru
    login(client, people[role])
    url = f"{BASE}/enrollments/{ids['rosa']}"
    with app.app_context():
        before = counts()
    person = _person(app, ids["rosa"])
    assert client.get(url).status_code == 404
    contact = {"name": "X Y", "email": "x@example.org", "phone": "987654321", "organization": "Z"}
    assert post(client, url + "/contact", contact).status_code == 404
    assert post(client, url + "/link").status_code == 404
    assert _person(app, ids["rosa"]) == person
    with app.app_context():
        assert counts() == before


def test_refused_without_csrf_token(app, client, peru):
    people, ids = peru
    login(client, people["admin"])
    url = f"{BASE}/enrollments/{ids['rosa']}"
    assert client.post(url + "/link").status_code == 400
    assert _outbox(app) == []


@pytest.mark.parametrize(
    "typed",
    ["987654321", "987 654 321", "+51 987 654 321", "0051 987-654-321", "(51) 987654321", "654321"],
)
def test_search_finds_a_phone_typed_in_any_format(app, client, peru, typed):
    people, ids = peru
    login(client, people["admin"])
    page = client.get(f"{BASE}/enrollments", query_string={"q": typed}).get_data(as_text=True)
    assert "Rosa Quispe" in page
    assert "Ana Pérez" not in page


def test_phone_search_keeps_the_scope(app, client, peru):
    people, ids = peru
    login(client, people["CL"])
    page = client.get(f"{BASE}/enrollments", query_string={"q": "987 654 321"}).get_data(
        as_text=True
    )
    assert "Rosa Quispe" not in page
    page = client.get(f"{BASE}/enrollments", query_string={"q": "912345678"}).get_data(as_text=True)
    assert "Ana Pérez" in page  # +56912345678, typed without the code of Chile


def test_whatsapp_offers_a_wa_me_link_with_the_personal_link_and_is_audited(app, client, peru):
    people, ids = peru
    login(client, people["PE"])
    response = post(client, f"{BASE}/enrollments/{ids['rosa']}/whatsapp")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    match = re.search(r'href="(https://wa\.me/[^"]+)"', page)
    assert match
    url = urlsplit(html.unescape(match.group(1)))
    assert url.path == "/51987654321"
    [text] = parse_qs(url.query)["text"]
    with app.app_context():
        salt = db.session.get(Enrollment, ids["rosa"]).token_salt
        assert personal_link(token_for(salt)) in text and "Rosa Quispe" in text
        assert (
            db.session.scalar(
                select(AuditEntry.target).where(AuditEntry.action == "enrollment.whatsapp")
            )
            == f"enrollment:{ids['rosa']}"
        )
    assert _outbox(app) == []  # nothing is sent by the site


def test_whatsapp_is_404_outside_the_scope_and_not_audited(app, client, peru):
    people, ids = peru
    login(client, people["CL"])
    assert post(client, f"{BASE}/enrollments/{ids['rosa']}/whatsapp").status_code == 404
    with app.app_context():
        assert not db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "enrollment.whatsapp")
        )
