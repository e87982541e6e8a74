"""What the registration e-mails say: modules in order, how to complete, deadline, the link."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from courses.extensions import db
from courses.participants.services import enrollment_by_token
from courses.registration import services
from courses.registration.rules import Applicant
from tests.factories import (
    MODULE_TITLES,
    OPEN_NOW,
    SANTIAGO,
    VALID,
    enrollments,
    link_in,
    make_course,
    messages,
    submit,
)


@pytest.fixture(autouse=True)
def open_now(app):
    app.config["FIXED_NOW"] = OPEN_NOW


def test_confirmation_lists_the_six_modules_in_order_in_text_and_html(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    submit(client)
    with app.app_context():
        [mail] = messages()
    assert mail.subject == ("Inscripción hecha: Ciclo de capacitaciones para Pesca y…")
    numbered = re.findall(r"^(\d)\. (.+)$", mail.body_text, re.M)
    assert numbered == [(str(n), title) for n, title in enumerate(MODULE_TITLES, 1)]
    items = re.findall(r"<li>(.*?)</li>", mail.body_html)
    assert [title.replace("&#39;", "'") for title in items] == MODULE_TITLES
    assert "¿Cómo montar una unidad comercial?" in mail.body_html
    assert "<img" not in mail.body_html and "style=" not in mail.body_html
    assert "<script" not in mail.body_html


def test_confirmation_link_is_the_enrollments_personal_link(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    submit(client)
    with app.app_context():
        [mail] = messages()
    with app.app_context():
        [enrollment] = enrollments()
    link = link_in(mail.body_text)
    with app.app_context():
        assert link == f"http://certificados.test/my/{services.enrollment_token(enrollment)}"
    assert f'href="{link}"' in mail.body_html
    with app.app_context():
        assert enrollment_by_token(link.rsplit("/", 1)[1]).id == enrollment.id
        assert enrollment_by_token("not-a-token") is None
        assert enrollment_by_token("") is None


def test_deadline_to_complete_is_shown_in_the_course_time(app, client):
    with app.app_context():
        make_course(complete_by=datetime(2023, 10, 1, tzinfo=SANTIAGO))
        db.session.commit()
    submit(client)
    with app.app_context():
        [mail] = messages()
    expected = "sábado, 30 de septiembre de 2023, 23:59 (hora de Chile)"
    assert f"Plazo para completar los módulos y recibir el certificado: {expected}." in (
        mail.body_text
    )
    assert expected in mail.body_html


def test_no_deadline_to_complete_means_no_deadline_line(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    submit(client)
    with app.app_context():
        assert "Plazo para completar" not in messages()[0].body_text


@pytest.mark.parametrize(
    "completion, words",
    [
        ("self", "pulsa «He completado este módulo»"),
        ("quiz", "responde su breve cuestionario (se aprueba con 70 %)"),
        ("coordinator", "la coordinación del curso confirma cada módulo completado"),
    ],
)
def test_how_to_complete_follows_the_course_completion_rule(app, client, completion, words):
    with app.app_context():
        make_course(completion=completion)
        db.session.commit()
    submit(client)
    with app.app_context():
        [mail] = messages()
    assert words in mail.body_text and words in mail.body_html


def test_english_quiz_wording_and_deadline(app, client):
    with app.app_context():
        make_course(completion="quiz", complete_by=datetime(2023, 10, 1, tzinfo=SANTIAGO))
        db.session.commit()
    client.set_cookie("lang", "en")
    submit(client)
    with app.app_context():
        [mail] = messages()
    assert "answer its short quiz (pass mark 70 %)" in mail.body_text
    assert "Saturday, September 30, 2023, 23:59 (Chile time)" in mail.body_text
    assert "Hello María José" in mail.body_text


def test_the_confirmation_rendered_before_the_write_is_queued_only_with_the_enrollment(app):
    # `prepare` renders outside the write lock; nothing exists until `register` and the commit.
    applicant = Applicant(**{**VALID, "consent": True})
    with app.app_context():
        edition = make_course()
        db.session.commit()
        clean = services.check(edition, applicant, language="es", now=OPEN_NOW)
        draft = services.prepare(edition, clean, language="es", now=OPEN_NOW, privacy_version="1")
        db.session.rollback()
        assert enrollments() == [] and messages() == []
        result = services.register(edition, draft, language="es", now=OPEN_NOW)
        db.session.commit()
        [mail] = messages()
        assert (mail.kind, mail.enrollment_id) == ("confirmation", result.enrollment.id)
        assert (mail.subject, mail.body_text, mail.body_html) == draft.confirmation
        token = services.enrollment_token(result.enrollment)
        assert link_in(mail.body_text) == f"http://certificados.test/my/{token}"
