"""Leaving an edition: a confirmation step, the seat to the first waiting person (told by
mail), the page says so, a coordinator can undo it while a seat is free."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from tests.coordination.helpers import login, make_coordinator
from tests.coordination.helpers import post as coordinator_post
from tests.participants.helpers import NOW, csrf_token, enroll, make_course


def _rows() -> list[tuple]:
    db.session.expire_all()
    return [
        (e.id, e.status, e.seat, e.withdrawn_at)
        for e in db.session.scalars(select(Enrollment).order_by(Enrollment.id))
    ]


def _mails(kind: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def _coordinator(app):
    """A logged-in admin's browser (a second visitor: its own CSRF token)."""
    g.pop("csrf_token", None)
    browser = app.test_client()
    login(browser, make_coordinator())
    return browser


def _withdraw(client, token: str):
    page = client.get(f"/my/{token}/withdraw")
    assert page.status_code == 200
    return client.post(f"/my/{token}/withdraw", data={"csrf_token": csrf_token(page.text)})


def test_withdrawing_asks_first_then_gives_the_seat_to_the_first_waiting_person(app, client):
    app.config["FIXED_NOW"] = NOW
    edition = make_course(capacity=1)
    leaving, token = enroll(edition, email="leaving@example.org")
    first, first_token = enroll(edition, email="first@example.org", waiting=True)
    second, _second_token = enroll(edition, email="second@example.org", waiting=True)
    home = client.get(f"/my/{token}").text
    assert f'href="/my/{token}/withdraw"' in home
    assert "Tu lugar en la lista de espera: 1" in client.get(f"/my/{first_token}").text

    confirm = client.get(f"/my/{token}/withdraw")
    assert "¿Dejar esta edición?" in confirm.text
    assert _rows()[0][1] == "registered", "the GET changes nothing"

    response = _withdraw(client, token)
    assert response.status_code == 303
    rows = {row[0]: row for row in _rows()}
    assert rows[leaving.id][1:3] == ("withdrawn", None) and rows[leaving.id][3] == NOW
    assert rows[first.id][1:3] == ("registered", 1)
    assert rows[second.id][1] == "waiting"
    [told] = _mails("promoted")
    assert told.recipient == "first@example.org"
    page = client.get(f"/my/{token}").text
    assert "Dejaste esta edición" in page
    assert f'href="/my/{token}/withdraw"' not in page
    assert "Tu lugar en la lista de espera: 1" in client.get(f"/my/{_second_token}").text


def test_withdrawing_without_the_csrf_token_is_refused_and_changes_nothing(app, client):
    app.config["FIXED_NOW"] = NOW
    edition = make_course(capacity=1)
    _leaving, token = enroll(edition)
    enroll(edition, email="first@example.org", waiting=True)
    before = _rows()
    assert client.post(f"/my/{token}/withdraw").status_code == 400
    assert _rows() == before and _mails("promoted") == []


def test_withdrawing_after_the_certificate_is_refused_and_changes_nothing(app, client):
    app.config["FIXED_NOW"] = NOW
    edition = make_course(capacity=1)
    enrollment, token = enroll(edition)
    for module in edition.course.modules:
        mark_module(enrollment, module, source="self", now=NOW)
    db.session.commit()
    assert f'href="/my/{token}/withdraw"' not in client.get(f"/my/{token}").text
    before = _rows()
    response = _withdraw(client, token)
    assert response.status_code == 303
    assert _rows() == before
    assert "tienes tu certificado" in client.get(f"/my/{token}").text


def test_a_waiting_person_can_leave_the_list(app, client):
    app.config["FIXED_NOW"] = NOW
    edition = make_course(capacity=1)
    enroll(edition)
    waiting, token = enroll(edition, email="w@example.org", waiting=True)
    assert "Salir de la lista de espera" in client.get(f"/my/{token}").text
    assert _withdraw(client, token).status_code == 303
    db.session.expire_all()
    assert db.session.get(Enrollment, waiting.id).status == "withdrawn"


def test_a_withdrawn_person_cannot_complete_modules(app, client):
    app.config["FIXED_NOW"] = NOW
    edition = make_course()
    _enrollment, token = enroll(edition)
    _withdraw(client, token)
    page = client.get(f"/my/{token}/modules/1")
    assert "Dejaste esta edición" in page.text and "He completado este módulo" not in page.text
    home = client.get(f"/my/{token}")
    response = client.post(
        f"/my/{token}/modules/1/complete", data={"csrf_token": csrf_token(home.text)}
    )
    assert response.status_code == 403
    assert "Dejaste esta edición" in response.text


def test_a_coordinator_sees_the_withdrawal_and_undoes_it_while_the_seat_is_free(app, client):
    app.config["FIXED_NOW"] = NOW
    edition = make_course(capacity=1)
    leaving, token = enroll(edition)
    _withdraw(client, token)
    coordinator = _coordinator(app)
    url = f"/coordinator/pesca-acuicultura/2023/enrollments/{leaving.id}"
    page = coordinator.get(url).text
    assert "Dejó la edición" in page and "Deshacer: volver a inscribir" in page
    response = coordinator_post(coordinator, url + "/undo-withdrawal")
    assert response.status_code == 303
    db.session.expire_all()
    back = db.session.get(Enrollment, leaving.id)
    assert (back.status, back.seat, back.withdrawn_at) == ("registered", 1, None)


def test_undoing_is_refused_once_the_seat_went_to_someone_else(app, client):
    app.config["FIXED_NOW"] = NOW
    edition = make_course(capacity=1)
    leaving, token = enroll(edition)
    enroll(edition, email="first@example.org", waiting=True)
    _withdraw(client, token)
    before = _rows()
    coordinator = _coordinator(app)
    url = f"/coordinator/pesca-acuicultura/2023/enrollments/{leaving.id}"
    response = coordinator_post(coordinator, url + "/undo-withdrawal")
    assert response.status_code == 303
    assert _rows() == before
    assert "ya fue asignado" in coordinator.get(url).text
