"""Registrations sent at the same moment: the database keeps one row per person and one person
per seat. Real threads, each a visitor with its own client, session and database connection.

The database is PostgreSQL when the suite runs on it, else a SQLite file (the in-memory one
has a single connection, so nothing could run at once). tests/production has the same races
through two gunicorn servers; these run in every suite, in seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from courses.extensions import db
from courses.registration.contact import correct_contact
from courses.registration.models import Enrollment
from tests.factories import (
    DONE_URL,
    FORM_URL,
    OPEN_NOW,
    VALID,
    csrf_token,
    enrollments,
    make_course,
    make_enrollment,
    messages,
)

#: Visitors who send the form at the same moment.
VISITORS = 8


def at_once(app: Flask, forms: list[dict]) -> list[tuple[FlaskClient, int, str]]:
    """Each form sent by its own visitor, all released together; (client, status, Location)."""
    barrier = threading.Barrier(len(forms))
    results: list[tuple[FlaskClient, int, str] | BaseException] = [None] * len(forms)  # type: ignore[list-item]

    def visit(index: int, form: dict) -> None:
        try:
            client = app.test_client()
            token = csrf_token(client)  # the form opened beforehand, as a person would
            barrier.wait(timeout=30)
            response = client.post(FORM_URL, data={**form, "csrf_token": token})
            response.close()
            results[index] = (client, response.status_code, response.headers.get("Location", ""))
        except BaseException as error:  # reported below, not swallowed
            barrier.abort()
            results[index] = error

    threads = [threading.Thread(target=visit, args=pair) for pair in enumerate(forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    failures = [r for r in results if not isinstance(r, tuple)]
    assert not failures, failures
    return results  # type: ignore[return-value]


def read(app: Flask, query: Callable):
    with app.app_context():
        return query()


def test_the_same_address_sent_at_once_registers_once_and_tells_the_others(shared_app):
    with shared_app.app_context():
        make_course()
        db.session.commit()
    spellings = ["maria@example.org", "MARIA@example.org", "Maria@Example.org"]
    forms = [
        {**VALID, "email": spellings[n % 3], "name": f"María Número {n}"} for n in range(VISITORS)
    ]
    answers = at_once(shared_app, forms)
    # Every visitor is answered with the page after the form, never an error.
    assert [(status, location.endswith(DONE_URL)) for _c, status, location in answers] == [
        (303, True)
    ] * VISITORS
    [enrollment] = read(shared_app, enrollments)
    assert enrollment.email_key == "maria@example.org"
    pages = [client.get(DONE_URL).text for client, _status, _location in answers]
    told = [page for page in pages if "ya está inscrito" in page]
    assert len(told) == VISITORS - 1, "everyone but the one registered hears it"
    kinds = [m.kind for m in read(shared_app, messages)]
    assert kinds.count("confirmation") == 1
    # The duplicates' reminder of the link, within the per-inbox cap of 3 a day.
    assert kinds.count("already-registered") == 3


def test_more_people_than_seats_at_once_fill_each_seat_once_and_wait_the_rest(shared_app):
    capacity = 3
    with shared_app.app_context():
        make_course(capacity=capacity)
        db.session.commit()
    forms = [
        {**VALID, "email": f"persona{n}@example.org", "name": f"Persona Número {n}"}
        for n in range(VISITORS)
    ]
    answers = at_once(shared_app, forms)
    assert [status for _c, status, _location in answers] == [303] * VISITORS
    rows = read(shared_app, enrollments)
    assert len({row.email_key for row in rows}) == len(rows) == VISITORS
    seated = sorted(row.seat for row in rows if row.status == "registered")
    assert seated == list(range(1, capacity + 1))
    waiting = [row for row in rows if row.status == "waiting"]
    assert len(waiting) == VISITORS - capacity and all(row.seat is None for row in waiting)
    kinds = [m.kind for m in read(shared_app, messages)]
    assert kinds.count("confirmation") == capacity
    assert kinds.count("waiting-list") == VISITORS - capacity


def test_an_address_taken_by_a_contact_correction_while_registering_answers_already_registered(
    shared_app, database_url
):
    """A coordinator's contact correction does not hold the edition's seats, so a registration
    of the same address passes the duplicate check and meets the correction only at the unique
    (edition, email_key) constraint: the database makes its INSERT wait for the correction,
    then refuses it once the correction commits. The visitor still hears "already registered".
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite the two writers never overlap (each holds the write lock)")
    with shared_app.app_context():
        edition = make_course()
        ana_id = make_enrollment(edition, email="ana@example.org").id
        db.session.commit()
    visitor = shared_app.test_client()
    token = csrf_token(visitor)
    answer: list = []

    def register() -> None:
        try:
            response = visitor.post(FORM_URL, data={**VALID, "csrf_token": token})
            answer.append((response.status_code, response.headers.get("Location", "")))
        except BaseException as error:  # reported below, not swallowed
            answer.append(error)

    with shared_app.app_context():
        ana = db.session.get(Enrollment, ana_id)
        correct_contact(
            ana,
            name=ana.name,
            email=VALID["email"],
            phone=VALID["phone"],
            organization=ana.organization,
            language="es",
            now=OPEN_NOW,
        )  # flushed, not committed: the row now says maria@, for this transaction only
        thread = threading.Thread(target=register)
        thread.start()
        _wait_for_an_insert_held_by_a_lock(thread)
        db.session.commit()
    thread.join(timeout=60)
    [(status, location)] = answer
    assert status == 303 and location.endswith(DONE_URL)  # the page after the form, no error
    assert "ya está inscrito" in visitor.get(DONE_URL).text
    [enrollment] = read(shared_app, enrollments)
    assert (enrollment.id, enrollment.email_key) == (ana_id, VALID["email"])
    kinds = [(m.kind, m.recipient) for m in read(shared_app, messages)]
    assert ("already-registered", VALID["email"]) in kinds
    assert not [kind for kind, _recipient in kinds if kind == "confirmation"]


def _wait_for_an_insert_held_by_a_lock(thread: threading.Thread) -> None:
    """Return once the registration's INSERT waits for a lock (asked of PostgreSQL itself)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO enrollment %'"
    )
    with db.engine.connect() as probe:
        for _ in range(3000):
            if probe.execute(waiting).scalar():
                return
            probe.rollback()  # pg_stat_activity is read once per transaction
            assert thread.is_alive(), "the registration finished without meeting the correction"
            time.sleep(0.01)
    raise AssertionError("the registration never reached the unique constraint")
