"""The participant's journey through the test client, under each completion rule."""

from __future__ import annotations

import io
from datetime import timedelta

import pypdf
from sqlalchemy import func, select

from courses.certificates.models import Certificate
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.models import ModuleCompletion, QuizAttempt
from courses.registration.models import Enrollment
from tests.factories import ACCENTED_NAME, NOW, enroll, make_course
from tests.factories import csrf_in as csrf_token


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _post(client, url: str, page_url: str, data: dict | None = None):
    page = client.get(page_url)
    return client.post(url, data={"csrf_token": csrf_token(page.text), **(data or {})})


def test_self_completion_journey_gives_one_certificate_pdf_and_mail(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        enrollment, token = enroll(make_course(completion="self"))
        enrollment_id = enrollment.id

    home = client.get(f"/my/{token}")
    assert home.status_code == 200
    assert home.headers["Cache-Control"] == "private, no-store"
    assert "0 de 6 módulos" in home.text
    assert "<dd>Inscrito</dd>" in home.text
    assert ACCENTED_NAME.replace("'", "&#39;") in home.text
    assert "https://wa.me/?text=" in home.text
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.confirmed_at == NOW

    for number in range(1, 7):
        page_url = f"/my/{token}/modules/{number}"
        response = _post(client, f"{page_url}/complete", page_url)
        assert response.status_code == 303
        # Back to the module; after the last one, to the page with the certificate.
        expected = page_url if number < 6 else f"/my/{token}"
        assert response.headers["Location"].endswith(expected)
        if number == 3:
            assert "<dd>En curso: 3 de 6 módulos</dd>" in client.get(f"/my/{token}").text
    home = client.get(f"/my/{token}")
    assert "6 de 6 módulos" in home.text
    assert "<dd>Curso completado, certificado emitido</dd>" in home.text
    with app.app_context():
        cert = db.session.scalars(select(Certificate)).one()
        mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "certificate"))
        mail = mails.one()
    display = f"{cert.code[:5]}-{cert.code[5:]}"
    assert display in home.text
    assert mail.subject == "Tu certificado está listo"
    assert f"/my/{token}/certificate.pdf" in mail.body_text
    assert f"/verify/{cert.code}" in mail.body_html
    assert "Ñandú Ólafsdóttir-Łukasz O&#39;Brien" in mail.body_html

    pdf = client.get(f"/my/{token}/certificate.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "private, no-store"
    assert len(pdf.data) < 100 * 1024
    reader = pypdf.PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert ACCENTED_NAME in text
    assert display in text
    assert "Barreras y oportunidades cuando se piensa exportar" in text
    assert f"http://certificados.test/verify/{cert.code}" in text


def test_undo_works_until_the_certificate_is_issued(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        _enrollment, token = enroll(make_course(completion="self"))
    page_url = f"/my/{token}/modules/2"
    _post(client, f"{page_url}/complete", page_url)
    with app.app_context():
        assert _count(ModuleCompletion) == 1
    response = _post(client, f"{page_url}/undo", page_url)
    assert response.status_code == 303
    with app.app_context():
        assert _count(ModuleCompletion) == 0
    for number in range(1, 7):
        url = f"/my/{token}/modules/{number}"
        _post(client, f"{url}/complete", url)
    with app.app_context():
        assert _count(Certificate) == 1
    page = client.get(page_url)
    assert "Deshacer" not in page.text
    token_page = client.get(f"/my/{token}").text
    response = client.post(f"{page_url}/undo", data={"csrf_token": csrf_token(token_page)})
    assert response.status_code == 403
    with app.app_context():
        assert _count(ModuleCompletion) == 6


def test_quiz_failed_then_passed_shows_wrong_questions_but_not_answers(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        enrollment, token = enroll(make_course(completion="quiz"))
        enrollment_id = enrollment.id
        modules = [(m.position, m.questions) for m in enrollment.edition.course.modules]
    page_url = f"/my/{token}/modules/1"
    right = str(modules[0][1][0]["answer"])
    wrong = str((int(right) + 1) % 3)
    response = _post(client, f"{page_url}/quiz", page_url, {"q1": right, "q2": wrong, "q3": wrong})
    assert response.status_code == 303
    page = client.get(page_url)
    assert "Obtuviste 33 % y necesitas 70 %" in page.text
    assert "Revisa las preguntas 2, 3" in page.text
    assert "En tu último intento obtuviste 33 %" in page.text
    assert 'id="q2-wrong"' in page.text and 'id="q3-wrong"' in page.text
    assert 'id="q1-wrong"' not in page.text
    # Which answer is right is never given away: no choice is marked as the correct one.
    assert "checked" not in page.text
    with app.app_context():
        assert _count(ModuleCompletion) == 0
        attempt = db.session.scalars(select(QuizAttempt)).one()
        assert (attempt.score, attempt.passed) == (33, False)

    for position, questions in modules:
        url = f"/my/{token}/modules/{position}"
        answer = str(questions[0]["answer"])
        response = _post(client, f"{url}/quiz", url, {"q1": answer, "q2": answer, "q3": answer})
        assert response.status_code == 303
    with app.app_context():
        assert _count(QuizAttempt) == 7
        assert _count(ModuleCompletion) == 6
        assert _count(Certificate) == 1
    assert client.get(f"/my/{token}/certificate.pdf").status_code == 200
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.completed_at == NOW


def test_unanswered_quiz_is_refused_next_to_the_question_and_stores_nothing(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        _enrollment, token = enroll(make_course(completion="quiz"))
    page_url = f"/my/{token}/modules/1"
    response = _post(client, f"{page_url}/quiz", page_url, {"q1": "0"})
    assert response.status_code == 400
    assert 'id="q2-error"' in response.text
    with app.app_context():
        assert _count(QuizAttempt) == 0


def test_coordinator_rule_shows_state_only_and_completion_comes_from_the_service(app, client):
    from courses.participants.services import mark_module

    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        enrollment, token = enroll(make_course(completion="coordinator"))
        enrollment_id = enrollment.id
    page_url = f"/my/{token}/modules/1"
    page = client.get(page_url)
    assert "He completado este módulo" not in page.text
    response = client.post(
        f"{page_url}/complete", data={"csrf_token": csrf_token(client.get(f"/my/{token}").text)}
    )
    assert response.status_code == 403
    with app.app_context():
        assert _count(ModuleCompletion) == 0
        enrollment = db.session.get(Enrollment, enrollment_id)
        for module in enrollment.edition.course.modules:
            mark_module(enrollment, module, source="coordinator", now=NOW)
        db.session.commit()
    assert "6 de 6 módulos" in client.get(f"/my/{token}").text
    assert client.get(f"/my/{token}/certificate.png").status_code == 200


def test_completion_after_complete_by_is_refused_with_the_date(app, client):
    with app.app_context():
        edition = make_course(completion="self", complete_by=NOW + timedelta(hours=1))
        _enrollment, token = enroll(edition)
    app.config["FIXED_NOW"] = NOW + timedelta(hours=1)
    page_url = f"/my/{token}/modules/1"
    page = client.get(page_url)
    assert "terminó el" in page.text
    response = client.post(
        f"{page_url}/complete", data={"csrf_token": csrf_token(client.get(f"/my/{token}").text)}
    )
    assert response.status_code == 403
    assert "El plazo para completar los módulos terminó" in response.text
    with app.app_context():
        assert _count(ModuleCompletion) == 0


def test_waiting_list_cannot_complete_nor_download(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(completion="self", capacity=1)
        enroll(edition, email="first@example.org")
        _waiting, token = enroll(edition, email="second@example.org", waiting=True)
    home = client.get(f"/my/{token}")
    assert "lista de espera" in home.text
    page_url = f"/my/{token}/modules/1"
    client.get(page_url)
    response = client.post(
        f"{page_url}/complete", data={"csrf_token": csrf_token(client.get(f"/my/{token}").text)}
    )
    assert response.status_code == 403
    with app.app_context():
        assert _count(ModuleCompletion) == 0
    assert client.get(f"/my/{token}/certificate.pdf").status_code == 404


def test_unknown_token_is_a_plain_404_and_tokens_do_not_cross(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        first, first_token = enroll(edition, email="a@example.org")
        first_id = first.id
        _second, second_token = enroll(edition, email="b@example.org", name="Otra Persona")
    assert client.get("/my/not-a-real-token").status_code == 404
    assert client.get("/my/not-a-real-token/modules/1").status_code == 404
    assert client.get("/my/not-a-real-token/certificate.pdf").status_code == 404
    assert client.get(f"/my/{first_token}/certificate.pdf").status_code == 404  # not earned
    for number in range(1, 7):
        url = f"/my/{first_token}/modules/{number}"
        _post(client, f"{url}/complete", url.replace(f"/modules/{number}", ""))
    assert client.get(f"/my/{first_token}/certificate.pdf").status_code == 200
    # The other person's link shows their own (empty) progress and no certificate.
    second_page = client.get(f"/my/{second_token}").text
    assert "0 de 6 módulos" in second_page
    assert ACCENTED_NAME.replace("'", "&#39;") not in second_page
    assert client.get(f"/my/{second_token}/certificate.pdf").status_code == 404
    assert client.get(f"/my/{second_token}/certificate.png").status_code == 404
    with app.app_context():
        owners = set(db.session.scalars(select(ModuleCompletion.enrollment_id)))
    assert owners == {first_id}


def test_module_page_loads_nothing_third_party_until_play(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        _enrollment, token = enroll(make_course())
    page = client.get(f"/my/{token}/modules/1")
    assert "<iframe" not in page.text
    assert "youtube-nocookie.com" not in page.text
    assert f"/my/{token}/modules/1?play=1" in page.text
    played = client.get(f"/my/{token}/modules/1?play=1")
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ' in played.text
    # Module 2 links to a channel, not a video: a link only, never an embed.
    channel = client.get(f"/my/{token}/modules/2?play=1")
    assert "<iframe" not in channel.text
    assert "https://www.youtube.com/@AlianzadelPacificoOficial/videos" in channel.text
    assert client.get(f"/my/{token}/modules/7").status_code == 404


def test_pages_follow_the_chosen_language(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        _enrollment, token = enroll(make_course(completion="quiz"))
    client.set_cookie("lang", "en")
    home = client.get(f"/my/{token}")
    assert '<html lang="en">' in home.text
    assert "0 of 6 modules" in home.text
    assert "Training cycle for Fisheries and Aquaculture" in home.text
    module = client.get(f"/my/{token}/modules/1")
    assert "Question 1" in module.text and "Send answers" in module.text


def test_quiz_course_module_without_questions_is_confirmed_by_the_participant(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(completion="quiz")
        edition.course.modules[5].questions = []
        db.session.commit()
        _enrollment, token = enroll(edition)
    page_url = f"/my/{token}/modules/6"
    assert "He completado este módulo" in client.get(page_url).text
    quiz = _post(client, f"{page_url}/quiz", f"/my/{token}")
    assert quiz.status_code in (400, 403)
    response = _post(client, f"{page_url}/complete", f"/my/{token}")
    assert response.status_code == 303
    with app.app_context():
        assert _count(ModuleCompletion) == 1


def test_from_the_registration_form_to_a_verified_certificate(app, client):
    import re

    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        make_course(completion="self")
        db.session.commit()
    form_url = "/courses/pesca-acuicultura/2023/register"
    form = client.get(form_url)
    response = client.post(
        form_url,
        data={
            "csrf_token": csrf_token(form.text),
            "name": ACCENTED_NAME,
            "email": "nandu@example.org",
            "phone": "9 6123 4567",
            "country": "CL",
            "organization": "Sindicato de Pescadores de Tomé",
            "consent": "y",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        confirmation = db.session.scalars(select(OutboxMessage)).one()
    link = re.search(r"http://certificados\.test(/my/[A-Za-z0-9_-]+)", confirmation.body_text)
    personal = link.group(1)
    assert "0 de 6 módulos" in client.get(personal).text
    for number in range(1, 7):
        url = f"{personal}/modules/{number}"
        assert _post(client, f"{url}/complete", personal).status_code == 303
    with app.app_context():
        cert = db.session.scalars(select(Certificate)).one()
    pdf = client.get(f"{personal}/certificate.pdf")
    text = pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert ACCENTED_NAME in text
    page = client.get(f"/verify/{cert.code}")
    assert "Certificado válido." in page.text
