"""Each role against each list, export, import and action, including those it must not reach."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from courses.catalog.models import Edition
from courses.certificates.models import Certificate
from courses.coordination.models import Coordinator
from courses.extensions import db
from tests.factories import (
    complete,
    login,
    make_certificate,
    make_coordinator,
    make_correction,
    make_course,
    make_enrollment,
    post,
)
from tests.factories import row_counts as counts

A = "/coordinator/pesca-acuicultura/2023"
B = "/coordinator/otro-curso/2024"


@pytest.fixture
def world(app):
    """Two courses with enrollees from Chile and Perú, and one coordinator of each role
    (committed; the rows are handed out detached, their columns loaded)."""
    with app.app_context():
        first = make_course("pesca-acuicultura")
        second = make_course("otro-curso", edition_slug="2024")
        people = {
            "a_cl": make_enrollment(first, "Camila Chile", email="camila@cl.example", country="CL"),
            "a_pe": make_enrollment(first, "Pablo Perú", email="pablo@pe.example", country="PE"),
            "b_cl": make_enrollment(
                second, "Carlos Chile", email="carlos@cl.example", country="CL"
            ),
            "b_pe": make_enrollment(second, "Paula Perú", email="paula@pe.example", country="PE"),
        }
        for key, code in (("a_cl", "CLCLC23456"), ("a_pe", "PEPEP23456")):
            complete(people[key], 1, 2, 3, 4, 5, 6)
            make_certificate(people[key], code=code)
        roles = {
            "admin": make_coordinator("admin"),
            "course": make_coordinator("course", course=first.course),
            "country": make_coordinator("country", country="PE"),
        }
        db.session.commit()
        for row in (*people.values(), *roles.values(), first, second):
            db.session.refresh(row)
    return {"people": people, "roles": roles, "editions": (first, second)}


VISIBLE = {
    # role: (names visible in course A, in course B or None for 404)
    "admin": ({"Camila Chile", "Pablo Perú"}, {"Carlos Chile", "Paula Perú"}),
    "course": ({"Camila Chile", "Pablo Perú"}, None),
    "country": ({"Pablo Perú"}, {"Paula Perú"}),
}


@pytest.mark.parametrize("role", ["admin", "course", "country"])
def test_list_and_exports_show_exactly_the_scope(world, client, role):
    login(client, world["roles"][role].email)
    for base, expected in zip((A, B), VISIBLE[role], strict=True):
        for suffix in ("/enrollments", "/enrollments.csv", "/enrollments.xlsx", "/dashboard"):
            response = client.get(base + suffix)
            if expected is None:
                assert response.status_code == 404, (role, base, suffix)
                for name in ("Carlos", "Paula"):
                    assert name not in response.get_data(as_text=True)
                continue
            assert response.status_code == 200, (role, base, suffix)
            # An export streams in its request's context until the body is read or closed (as a
            # server does); left open, its teardown would run during the next request.
            response.close()
        if expected is None:
            continue
        html = client.get(base + "/enrollments").get_data(as_text=True)
        everyone = {"Camila Chile", "Pablo Perú", "Carlos Chile", "Paula Perú"}
        for name in everyone:
            assert (name in html) == (name in expected), (role, name)
        text = client.get(base + "/enrollments.csv").get_data().decode("utf-8-sig")
        exported = {row[1] for row in list(csv.reader(io.StringIO(text)))[1:]}
        assert exported == expected
        # A filter cannot widen the scope.
        text = client.get(base + "/enrollments.csv?country=CL").get_data().decode("utf-8-sig")
        exported = {row[1] for row in list(csv.reader(io.StringIO(text)))[1:]}
        assert exported == {n for n in expected if "Chile" in n}


def test_index_lists_only_editions_in_scope(world, client):
    login(client, world["roles"]["course"].email)
    html = client.get("/coordinator/").get_data(as_text=True)
    assert "pesca-acuicultura" in html and "otro-curso" not in html


def test_country_focal_point_cannot_open_or_change_another_countrys_enrollee(app, world, client):
    people = world["people"]
    login(client, world["roles"]["country"].email)
    chilean = people["b_cl"]
    assert client.get(f"{B}/enrollments/{chilean.id}").status_code == 404
    assert client.get(f"{B}/enrollments/{people['b_pe'].id}").status_code == 200
    with app.app_context():
        before = counts()
    response = post(client, f"{B}/enrollments/{chilean.id}/modules/1", {"action": "mark"})
    assert response.status_code == 404
    with app.app_context():
        assert counts() == before
    # Asking for an enrollee of another edition through this edition's URL finds nothing.
    assert client.get(f"{B}/enrollments/{people['a_pe'].id}").status_code == 404


def test_course_coordinator_cannot_act_on_another_course(app, world, client):
    people = world["people"]
    login(client, world["roles"]["course"].email)
    with app.app_context():
        before = counts()
    assert (
        post(
            client, f"{B}/enrollments/{people['b_pe'].id}/modules/1", {"action": "mark"}
        ).status_code
        == 404
    )
    assert client.get(f"{B}/settings").status_code == 404
    assert (
        post(
            client, f"{B}/settings", {"registration_closes": "2030-01-01", "capacity": "5"}
        ).status_code
        == 404
    )
    assert client.get(f"{B}/completions/import").status_code == 404
    assert client.get(f"{B}/certificates").status_code == 404
    assert client.get(f"{B}/certificates.zip").status_code == 404
    with app.app_context():
        assert counts() == before
    assert client.get(f"{A}/settings").status_code == 200


def test_country_focal_point_cannot_change_edition_dates_or_capacity(app, world, client):
    login(client, world["roles"]["country"].email)
    first = world["editions"][0]
    closes = first.registration_closes
    assert client.get(f"{A}/settings").status_code == 404
    response = post(client, f"{A}/settings", {"registration_closes": "2030-01-01", "capacity": "1"})
    assert response.status_code == 404
    with app.app_context():
        first = db.session.get(Edition, first.id)
        assert first.registration_closes == closes and first.capacity == 0


def test_certificates_are_scoped_for_list_revoke_and_corrections(app, world, client):
    people = world["people"]
    login(client, world["roles"]["country"].email)
    html = client.get(f"{A}/certificates").get_data(as_text=True)
    assert "PEPEP-23456" in html and "CLCLC-23456" not in html
    with app.app_context():
        chilean_cert = db.session.scalar(
            select(Certificate).where(Certificate.code == "CLCLC23456")
        )
        correction = make_correction(people["a_cl"], "Camila Chile Rojas")
        db.session.commit()
        before = counts()
        db.session.refresh(chilean_cert)  # loaded after counts() expired everything
        db.session.refresh(correction)
    assert client.get(f"{A}/certificates/{chilean_cert.id}/revoke").status_code == 404
    response = post(client, f"{A}/certificates/{chilean_cert.id}/revoke", {"reason": "x"})
    assert response.status_code == 404
    assert post(client, f"{A}/certificates/{chilean_cert.id}/resend").status_code == 404
    assert post(client, f"{A}/corrections/{correction.id}/approve").status_code == 404
    with app.app_context():
        assert counts() == before
        chilean_cert = db.session.get(Certificate, chilean_cert.id)
        assert chilean_cert.revoked_at is None


def test_import_rows_outside_the_scope_are_errors(app, world, client):
    login(client, world["roles"]["country"].email)
    data = b"email,modules\ncamila@cl.example,1\npablo@pe.example,1\n"
    with app.app_context():
        before = counts()
    response = post(
        client,
        f"{A}/completions/import",
        {"file": (io.BytesIO(data), "c.csv")},
        form_url=f"{A}/completions/import",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # Outside the scope reads exactly like an address nobody registered with.
    assert "Fuera de tu alcance" not in html
    assert html.count("No se encontró en esta edición.") == 1
    unknown = post(
        client,
        f"{A}/completions/import",
        {"file": (io.BytesIO(b"email,modules\nnadie@nada.example,1\n"), "c.csv")},
        form_url=f"{A}/completions/import",
    )
    assert "No se encontró en esta edición." in unknown.get_data(as_text=True)
    assert "Aplicar la importación" not in html
    with app.app_context():
        assert counts() == before


@pytest.mark.parametrize("role", ["course", "country"])
def test_only_admins_read_the_audit_log_and_manage_accounts(app, world, client, role):
    login(client, world["roles"][role].email)
    assert client.get("/coordinator/audit").status_code == 404
    assert client.get("/coordinator/accounts").status_code == 404
    response = post(
        client,
        "/coordinator/accounts",
        {
            "email": "new@example.org",
            "role": "admin",
            "password": "una frase muy larga",
        },
    )
    assert response.status_code == 404
    admin = world["roles"]["admin"]
    assert post(client, f"/coordinator/accounts/{admin.id}/active").status_code == 404
    with app.app_context():
        admin = db.session.get(Coordinator, admin.id)
        assert admin.active


def test_admin_reads_the_audit_log_and_creates_accounts(world, client):
    login(client, world["roles"]["admin"].email)
    client.get(f"{A}/enrollments.csv?country=PE")
    html = client.get("/coordinator/audit").get_data(as_text=True)
    assert "export.csv" in html and "PE" in html
    response = post(
        client,
        "/coordinator/accounts",
        {
            "email": "focal.co@example.org",
            "role": "country",
            "country": "co",
            "password": "una frase muy larga",
        },
    )
    assert response.status_code == 303
    response = post(
        client,
        "/coordinator/accounts",
        {
            "email": "otro@example.org",
            "role": "course",
            "course": "",
            "password": "una frase muy larga",
        },
    )
    assert response.status_code == 400
    assert "--course" in response.get_data(as_text=True) or "curso" in response.get_data(
        as_text=True
    )
    html = client.get("/coordinator/accounts").get_data(as_text=True)
    assert "focal.co@example.org" in html and "otro@example.org" not in html


def test_a_course_coordinator_assigned_two_courses_sees_both_and_no_third(app, client, runner):
    with app.app_context():
        first = make_course("pesca-acuicultura")
        second = make_course("otro-curso", edition_slug="2024")
        third = make_course("tercer-curso", edition_slug="2025")
        for edition, name in ((first, "Ana Uno"), (second, "Beto Dos"), (third, "Caro Tres")):
            make_enrollment(edition, name, email=f"{name.split()[0].lower()}@example.org")
        db.session.commit()
    result = runner.invoke(
        args=[
            "coordinators",
            "create",
            "dos@example.org",
            "--role",
            "course",
            "--course",
            "pesca-acuicultura",
            "--course",
            "otro-curso",
        ],
        input="una frase bastante larga\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        coordinator = db.session.scalars(
            db.select(Coordinator).where(Coordinator.email == "dos@example.org")
        ).one()
        assert [course.slug for course in coordinator.courses] == [
            "otro-curso",
            "pesca-acuicultura",
        ]
        email = coordinator.email
    login(client, email, password="una frase bastante larga")
    assert "Ana Uno" in client.get(f"{A}/enrollments").text
    assert "Beto Dos" in client.get(f"{B}/enrollments").text
    assert client.get("/coordinator/tercer-curso/2025/enrollments").status_code == 404
    assert "Caro Tres" not in client.get("/coordinator/tercer-curso/2025/enrollments.csv").text
