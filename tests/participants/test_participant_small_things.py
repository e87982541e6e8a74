"""The small things: short mail subjects, "Módulo 2 →" first, no "puedes deshacerlo" once the
certificate exists, file sizes on the certificate buttons, one rate-limit sentence."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from courses import create_app
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from tests.factories import FORM_URL, NOW, VALID, complete, enroll, make_certificate, make_course
from tests.factories import csrf_in as csrf_token
from tests.factories import csrf_token as form_token

LONG_TITLE = "Ciclo de capacitaciones para Pesca y Acuicultura de la Alianza del Pacífico"


def subjects() -> dict[str, str]:
    db.session.expire_all()
    return {m.kind: m.subject for m in db.session.scalars(select(OutboxMessage))}


def test_every_participant_mail_subject_is_under_60_characters_important_word_first(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        make_course(capacity=1, title={"es": LONG_TITLE, "en": LONG_TITLE})
        db.session.commit()
    for email in ("uno@example.org", "dos@example.org", "uno@example.org"):
        data = {**VALID, "email": email, "csrf_token": form_token(client, FORM_URL)}
        client.post(FORM_URL, data=data).close()
    page = client.get("/my/lost")
    client.post("/my/lost", data={"csrf_token": csrf_token(page.text), "email": "uno@example.org"})
    with app.app_context():
        found = subjects()
    assert set(found) >= {"confirmation", "waiting-list", "already-registered", "lost-link"}
    for kind, subject in found.items():
        assert len(subject) < 60, (kind, subject)
    assert found["confirmation"].startswith("Inscripción hecha: Ciclo de capacitaciones")
    assert found["waiting-list"].startswith("Lista de espera:")


def test_after_completing_a_module_the_next_one_comes_first(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        _enrollment, token = enroll(make_course())
    page = client.get(f"/my/{token}/modules/1")
    response = client.post(
        f"/my/{token}/modules/1/complete", data={"csrf_token": csrf_token(page.text)}
    )
    after = client.get(response.headers["Location"]).text
    state = after[after.index('id="state-h"') :]
    next_link = state.index(f'href="/my/{token}/modules/2"')
    assert next_link < state.index("Deshacer"), "Módulo 2 → before the undo button"
    assert "Módulo 2</a>" not in after[: after.index('id="state-h"')]


def test_no_undo_sentence_and_file_sizes_once_the_certificate_exists(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        enrollment, token = enroll(make_course())
        enrollment_id = enrollment.id
    assert "Puedes deshacerlo" in client.get(f"/my/{token}").text
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        course = enrollment.edition.course
        course.contacts = [
            {"country": "CL", "name": {"es": "Ayuda Chile"}, "email": "a@example.org",
             "whatsapp": None}
        ]  # fmt: skip
        for module in course.modules:
            mark_module(enrollment, module, source="self", now=NOW)
        db.session.commit()
        query = select(OutboxMessage).where(OutboxMessage.kind == "certificate")
        [ready] = db.session.scalars(query)
    assert "Ayuda Chile · a@example.org" in ready.body_text, "the country's contact in the mail"
    home = client.get(f"/my/{token}").text
    assert "Puedes deshacerlo" not in home
    assert "Ayuda Chile" in home
    pdf = re.search(r"Descargar certificado \(PDF, (\d+) kB\)", home)
    png = re.search(r"Ver certificado como imagen \(PNG, (\d+) kB\)", home)
    assert pdf and png, home
    real_pdf = len(client.get(f"/my/{token}/certificate.pdf").get_data())
    real_png = len(client.get(f"/my/{token}/certificate.png").get_data())
    assert int(pdf.group(1)) == max(1, round(real_pdf / 1000))
    assert int(png.group(1)) == max(1, round(real_png / 1000))


@pytest.fixture
def limited_client(database_url):
    app = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True}
    )
    with app.app_context():
        db.create_all()
    yield app.test_client()
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_lost_by_phone_is_limited_per_number_however_written_in_one_sentence(limited_client):
    def ask(phone: str):
        page = limited_client.get("/my/lost")
        data = {"csrf_token": csrf_token(page.text), "phone": phone, "country": "CL"}
        return limited_client.post("/my/lost", data=data)

    for written in ("961234567", "9 6123 4567", "+56 9 6123 4567"):
        assert ask(written).status_code == 303
    refused = ask("(9) 6123-4567")
    assert refused.status_code == 429
    assert "Vuelve a intentarlo en" in refused.text and "minutos" in refused.text
    assert "Espera un momento" not in refused.text
    assert ask("987654321").status_code == 303, "another number is still served"


def test_personal_page_shows_the_latest_certificate_and_the_other_language_of_its_holder(
    app, client
):
    """The page reads its enrollment as plain values: the current certificate is the highest
    generation (a reissue, not the first), the other-language link follows the person's own
    language, and each module is marked by this person's completions only."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        enrollment, token = enroll(edition, locale="en", confirmed=True)
        other, other_token = enroll(edition, email="otra@example.org", confirmed=True)
        complete(enrollment, 1, 2, 3, 4, 5, 6)
        complete(other, 1)
        first = make_certificate(enrollment, code="ABCDE23456")
        first.revoked_at = NOW
        make_certificate(enrollment, code="FGHJK23456", generation=2)
        db.session.commit()
    page = client.get(f"/my/{token}").text
    assert "FGHJK" in page and "ABCDE" not in page
    assert "Descargar el certificado en español (PDF)" in page
    assert "Download the certificate in English" not in page
    assert page.count(">Completado<") == 6
    other_page = client.get(f"/my/{other_token}").text
    assert "Tu certificado" not in other_page
    assert other_page.count(">Completado<") == 1 and other_page.count(">Pendiente<") == 5
