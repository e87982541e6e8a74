"""Coordinator actions: modules, edition dates and capacity, certificates, dashboard, audit."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from courses.catalog.models import Edition
from courses.certificates.models import Certificate, NameCorrection
from courses.coordination.models import AuditEntry
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.models import ModuleCompletion
from courses.registration.models import Enrollment
from tests.factories import (
    NOW,
    audit_actions,
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

BASE = "/coordinator/pesca-acuicultura/2023"
SANTIAGO = ZoneInfo("America/Santiago")


def test_coordinator_marks_and_unmarks_modules_and_the_last_one_issues_the_certificate(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(completion="coordinator")
        person = make_enrollment(edition, "Ana Núñez")
        complete(person, 1, 2, 3, 4, 5)
        email = make_coordinator("course", course=edition.course).email
        person_id = person.id
        db.session.commit()
    login(client, email)
    url = f"{BASE}/enrollments/{person_id}/modules"
    assert post(client, f"{url}/5", {"action": "unmark"}).status_code == 303
    with app.app_context():
        assert len(db.session.scalars(select(ModuleCompletion)).all()) == 4
    assert post(client, f"{url}/5", {"action": "mark"}).status_code == 303
    assert post(client, f"{url}/6", {"action": "mark"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Certificate)).holder_name == "Ana Núñez"
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry.action == "module.mark"
        assert entry.details == {
            "module": 6,
            "status_before": "in_progress",
            "status_after": "certified",
        }
        # Once certified, unmarking is refused with the reason and changes nothing.
        before = counts()
    response = post(client, f"{url}/6", {"action": "unmark"})
    assert response.status_code == 303
    page = client.get(f"{BASE}/enrollments/{person_id}").get_data(as_text=True)
    assert "certificado ya fue emitido" in page
    with app.app_context():
        assert counts() == before
    assert post(client, f"{url}/7", {"action": "mark"}).status_code == 404
    assert post(client, f"{url}/1", {"action": "delete"}).status_code == 400


def test_waiting_list_enrollee_cannot_get_modules(app, client):
    with app.app_context():
        edition = make_course(completion="coordinator", capacity=1)
        make_enrollment(edition, "Con Cupo", seat=1)
        waiting_id = make_enrollment(edition, "En Espera", waiting=True).id
        email = make_coordinator("admin").email
        db.session.commit()
        before = counts()
    login(client, email)
    post(client, f"{BASE}/enrollments/{waiting_id}/modules/1", {"action": "mark"})
    with app.app_context():
        assert counts() == before


def test_growing_capacity_promotes_the_waiting_list_in_order_and_tells_them(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(capacity=1)
        make_enrollment(edition, "Primera", seat=1)
        second = make_enrollment(edition, "Segunda", waiting=True, created_at=NOW.replace(hour=1))
        third = make_enrollment(edition, "Tercera", waiting=True, created_at=NOW.replace(hour=2))
        email = make_coordinator("course", course=edition.course).email
        ids = edition.id, second.id, third.id
        db.session.commit()
    login(client, email)
    page = client.get(f"{BASE}/settings").get_data(as_text=True)
    assert 'value="2023-07-21"' in page  # closes at the end of 21 July, shown as that day
    response = post(
        client,
        f"{BASE}/settings",
        {
            "registration_opens": "2023-06-01",
            "registration_closes": "2023-07-31",
            "complete_by": "2023-09-30",
            "capacity": "2",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        edition = db.session.get(Edition, ids[0])
        second, third = db.session.get(Enrollment, ids[1]), db.session.get(Enrollment, ids[2])
        assert edition.registration_closes == datetime(2023, 8, 1, tzinfo=SANTIAGO)
        assert edition.complete_by == datetime(2023, 10, 1, tzinfo=SANTIAGO)
        assert edition.capacity == 2
        assert (second.status, second.seat) == ("registered", 2)
        assert third.status == "waiting"
        mail = db.session.scalars(select(OutboxMessage)).all()
        assert [m.recipient for m in mail] == [second.email]
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "edition.update")
        ).one()
        assert entry.details["before"]["capacity"] == 1 and entry.details["after"]["capacity"] == 2
        assert entry.details["promoted"] == [second.id]


def test_edition_changes_that_break_the_rules_are_refused_next_to_the_field(app, client):
    with app.app_context():
        edition = make_course(capacity=2)
        make_enrollment(edition, "Uno", seat=1)
        make_enrollment(edition, "Dos", seat=2)
        email = make_coordinator("admin").email
        before = (edition.registration_closes, edition.capacity)
        edition_id = edition.id
        db.session.commit()
    login(client, email)
    cases = [
        (
            {
                "registration_opens": "2023-08-01",
                "registration_closes": "2023-07-31",
                "capacity": "2",
            },
            "La apertura debe ser antes",
        ),
        ({"registration_closes": "2023-07-31", "capacity": "1"}, "Ya hay 2 personas con cupo"),
        (
            {"registration_closes": "2023-07-31", "complete_by": "2023-07-01", "capacity": "2"},
            "no puede ser antes del cierre",
        ),
        ({"registration_closes": "", "capacity": "2"}, "Indica el último día"),
        ({"registration_closes": "2023-07-31", "capacity": "-3"}, "0 o más"),
        ({"registration_closes": "mañana", "capacity": "2"}, "registration_closes-error"),
    ]
    for data, message in cases:
        response = post(client, f"{BASE}/settings", data)
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True), data
        with app.app_context():
            edition = db.session.get(Edition, edition_id)
            assert (edition.registration_closes, edition.capacity) == before
    with app.app_context():
        assert "edition.update" not in audit_actions()


def test_certificates_revoke_resend_and_name_correction(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        person = make_enrollment(edition, "Jose Nunez")
        complete(person, 1, 2, 3, 4, 5, 6)
        cert = make_certificate(person, code="ABCDE23456")
        other = make_enrollment(edition, "Marta Díaz")
        complete(other, 1, 2, 3, 4, 5, 6)
        second = make_certificate(other, code="FGHJK23456")
        correction = make_correction(person, "José Núñez")
        email = make_coordinator("admin").email
        cert_id, second_id, correction_id = cert.id, second.id, correction.id
        db.session.commit()
    login(client, email)
    page = client.get(f"{BASE}/certificates").get_data(as_text=True)
    assert "ABCDE-23456" in page and "José Núñez" in page

    assert post(client, f"{BASE}/corrections/{correction_id}/approve").status_code == 303
    with app.app_context():
        cert = db.session.get(Certificate, cert_id)
        correction = db.session.get(NameCorrection, correction_id)
        assert cert.superseded_by_id is not None
        new = db.session.get(Certificate, cert.superseded_by_id)
        assert new.holder_name == "José Núñez" and new.code != cert.code
        assert correction.decision == "approved"
        new_id, new_code = new.id, new.code  # kept: counts() below expires every loaded row
        # Deciding twice does nothing more.
        before = counts()
    post(client, f"{BASE}/corrections/{correction_id}/reject")
    with app.app_context():
        assert counts() == before

    response = post(
        client,
        f"{BASE}/certificates/{second_id}/revoke",
        {"reason": ""},
        form_url=f"{BASE}/certificates/{second_id}/revoke",
    )
    assert response.status_code == 400
    response = post(
        client,
        f"{BASE}/certificates/{second_id}/revoke",
        {"reason": "Se inscribió dos veces"},
        form_url=f"{BASE}/certificates/{second_id}/revoke",
    )
    assert response.status_code == 303
    with app.app_context():
        second = db.session.get(Certificate, second_id)
        assert second.revoked_at is not None and second.revoke_reason == "Se inscribió dos veces"

        mails = len(db.session.scalars(select(OutboxMessage)).all())
    assert post(client, f"{BASE}/certificates/{new_id}/resend").status_code == 303
    with app.app_context():
        assert len(db.session.scalars(select(OutboxMessage)).all()) == mails + 1
    # A revoked certificate is not sent again.
    post(client, f"{BASE}/certificates/{second_id}/resend")
    with app.app_context():
        assert len(db.session.scalars(select(OutboxMessage)).all()) == mails + 1

    response = client.get(f"{BASE}/certificates.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        names = archive.namelist()
        assert len(names) == 1 and names[0].startswith(new_code[:5] + "-")
        assert archive.read(names[0]).startswith(b"%PDF")
    with app.app_context():
        actions = audit_actions()
    for action in (
        "name_correction.approve",
        "certificate.revoke",
        "certificate.resend",
        "export.certificates_zip",
    ):
        assert action in actions


def test_rejecting_a_name_correction_keeps_the_certificate(app, client):
    with app.app_context():
        edition = make_course()
        person = make_enrollment(edition, "Jose Nunez")
        make_certificate(person)
        correction_id = make_correction(person, "Otro Nombre").id
        email = make_coordinator("admin").email
        db.session.commit()
    login(client, email)
    assert post(client, f"{BASE}/corrections/{correction_id}/reject").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(NameCorrection.decision)) == "rejected"
        assert len(db.session.scalars(select(Certificate)).all()) == 1


def test_dashboard_draws_svg_charts_with_the_same_numbers_in_tables(app, client):
    with app.app_context():
        edition = make_course()
        for number in range(3):
            person = make_enrollment(edition, f"Chile {number}", country="CL")
            complete(person, *range(1, number + 2))
        make_enrollment(edition, "Perú 1", country="PE", confirmed=True)
        focal = make_coordinator("country", country="PE").email
        admin = make_coordinator("admin").email
        db.session.commit()
    login(client, focal)
    html = client.get(f"{BASE}/dashboard").get_data(as_text=True)
    assert "1 persona inscrita" in html and "Chile" not in html.split("<h2>")[1]
    login(client, admin)
    response = client.get(f"{BASE}/dashboard")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<svg") == 4
    assert "style=" not in html and "<script" not in html
    assert "4 personas inscritas" in html
    # Funnel: module 1 by 3 people, module 2 by 2, module 3 by 1.
    assert "<td>1</td><td>3</td>" in html
    assert "<td>2</td><td>2</td>" in html
    assert "<td>3</td><td>1</td>" in html
    assert 'aria-label="Personas que completaron cada módulo"' in html


def test_limiting_an_unlimited_edition_gives_the_registered_people_seats_first(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(capacity=0)
        ids = make_enrollment(edition, "Uno").id, make_enrollment(edition, "Dos").id
        email = make_coordinator("admin").email
        db.session.commit()
    login(client, email)
    response = post(
        client, f"{BASE}/settings", {"registration_closes": "2023-07-31", "capacity": "3"}
    )
    assert response.status_code == 303
    with app.app_context():
        first, second = (db.session.get(Enrollment, i) for i in ids)
        assert sorted([first.seat, second.seat]) == [1, 2]
        # Lowering the capacity moves a seat above the new limit into a free one below it.
        second.seat = 3
        db.session.commit()
    response = post(
        client, f"{BASE}/settings", {"registration_closes": "2023-07-31", "capacity": "2"}
    )
    assert response.status_code == 303
    with app.app_context():
        first, second = (db.session.get(Enrollment, i) for i in ids)
        assert {first.seat, second.seat} == {1, 2}
