"""Leaving an edition: a confirmation step, the seat to the first waiting person (told by
mail), the page says so, a coordinator can undo it while a seat is free."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from tests.factories import NOW, enroll, login, make_coordinator, make_course
from tests.factories import csrf_in as csrf_token
from tests.factories import post as coordinator_post


def _enroll(edition, **fields):
    """Everyone registered at the same moment, a day before: the waiting list goes by order
    of arrival."""
    return enroll(edition, created_at=NOW - timedelta(days=1), **fields)


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
    with app.app_context():
        email = make_coordinator().email
        db.session.commit()
    browser = app.test_client()
    login(browser, email)
    return browser


def _withdraw(client, token: str):
    page = client.get(f"/my/{token}/withdraw")
    assert page.status_code == 200
    return client.post(f"/my/{token}/withdraw", data={"csrf_token": csrf_token(page.text)})


def test_withdrawing_asks_first_then_gives_the_seat_to_the_first_waiting_person(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(capacity=1)
        leaving, token = _enroll(edition, email="leaving@example.org")
        first, first_token = _enroll(edition, email="first@example.org", waiting=True)
        second, _second_token = _enroll(edition, email="second@example.org", waiting=True)
        leaving, first, second = leaving.id, first.id, second.id
    home = client.get(f"/my/{token}").text
    assert f'href="/my/{token}/withdraw"' in home
    assert "Tu lugar en la lista de espera: 1" in client.get(f"/my/{first_token}").text

    confirm = client.get(f"/my/{token}/withdraw")
    assert "¿Dejar esta edición?" in confirm.text
    with app.app_context():
        assert _rows()[0][1] == "registered", "the GET changes nothing"

    response = _withdraw(client, token)
    assert response.status_code == 303
    with app.app_context():
        rows = {row[0]: row for row in _rows()}
        [told] = _mails("promoted")
    assert rows[leaving][1:3] == ("withdrawn", None) and rows[leaving][3] == NOW
    assert rows[first][1:3] == ("registered", 1)
    assert rows[second][1] == "waiting"
    assert told.recipient == "first@example.org"
    page = client.get(f"/my/{token}").text
    assert "Dejaste esta edición" in page
    assert f'href="/my/{token}/withdraw"' not in page
    assert "Tu lugar en la lista de espera: 1" in client.get(f"/my/{_second_token}").text


def test_withdrawing_without_the_csrf_token_is_refused_and_changes_nothing(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(capacity=1)
        _leaving, token = _enroll(edition)
        _enroll(edition, email="first@example.org", waiting=True)
        before = _rows()
    assert client.post(f"/my/{token}/withdraw").status_code == 400
    with app.app_context():
        assert _rows() == before and _mails("promoted") == []


def test_withdrawing_after_the_certificate_is_refused_and_changes_nothing(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(capacity=1)
        enrollment, token = _enroll(edition)
        for module in edition.course.modules:
            mark_module(enrollment, module, source="self", now=NOW)
        db.session.commit()
    assert f'href="/my/{token}/withdraw"' not in client.get(f"/my/{token}").text
    with app.app_context():
        before = _rows()
    response = _withdraw(client, token)
    assert response.status_code == 303
    with app.app_context():
        assert _rows() == before
    assert "tienes tu certificado" in client.get(f"/my/{token}").text


def test_a_waiting_person_can_leave_the_list(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(capacity=1)
        _enroll(edition)
        waiting, token = _enroll(edition, email="w@example.org", waiting=True)
        waiting_id = waiting.id
    assert "Salir de la lista de espera" in client.get(f"/my/{token}").text
    assert _withdraw(client, token).status_code == 303
    with app.app_context():
        assert db.session.get(Enrollment, waiting_id).status == "withdrawn"


def test_a_withdrawn_person_cannot_complete_modules(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        _enrollment, token = _enroll(make_course())
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
    with app.app_context():
        leaving, token = _enroll(make_course(capacity=1))
        leaving_id = leaving.id
    _withdraw(client, token)
    coordinator = _coordinator(app)
    url = f"/coordinator/pesca-acuicultura/2023/enrollments/{leaving_id}"
    page = coordinator.get(url).text
    assert "Dejó la edición" in page and "Deshacer: volver a inscribir" in page
    response = coordinator_post(coordinator, url + "/undo-withdrawal")
    assert response.status_code == 303
    with app.app_context():
        back = db.session.get(Enrollment, leaving_id)
    assert (back.status, back.seat, back.withdrawn_at) == ("registered", 1, None)


def test_undoing_is_refused_once_the_seat_went_to_someone_else(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(capacity=1)
        leaving, token = _enroll(edition)
        leaving_id = leaving.id
        _enroll(edition, email="first@example.org", waiting=True)
    _withdraw(client, token)
    with app.app_context():
        before = _rows()
    coordinator = _coordinator(app)
    url = f"/coordinator/pesca-acuicultura/2023/enrollments/{leaving_id}"
    response = coordinator_post(coordinator, url + "/undo-withdrawal")
    assert response.status_code == 303
    with app.app_context():
        assert _rows() == before
    assert "ya fue asignado" in coordinator.get(url).text
