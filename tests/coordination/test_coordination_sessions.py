"""Coordinator sessions end for real: logout, a new password, deactivation, idle and age.

Before, sessions lived only in the signed cookie: a copy taken before logout still opened
/coordinator/ and downloaded enrollments.csv afterwards, and the cookie carried the last 16 hex
digits of the password hash. Each test runs requests in their own app context, as a server does.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from courses.catalog.models import Edition
from courses.coordination.models import Coordinator
from courses.coordination.sessions import CoordinatorSession
from courses.extensions import db
from tests.factories import (
    NOW,
    PASSWORD,
    login,
    make_coordinator,
    make_course,
    make_enrollment,
    post,
)

CSV = "/coordinator/pesca-acuicultura/2023/enrollments.csv"


@pytest.fixture
def site(app):
    """The app (no context held) with one edition, an admin and a country coordinator."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        # As if loaded from a course file, so its download page has something to send.
        make_course(source_toml='slug = "pesca-acuicultura"\n')
        make_coordinator("admin", email="admin@example.org")
        make_coordinator("country", email="pe@example.org", country="PE")
        db.session.commit()
    return app


def _login(app, email: str, password: str = PASSWORD):
    """A new browser, signed in."""
    client = app.test_client()
    login(client, email, password)
    return client


def _copy(app, client):
    """Another browser holding a copy of `client`'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _live_sessions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CoordinatorSession))


def test_a_copy_of_the_cookie_stops_working_at_logout(site):
    client = _login(site, "admin@example.org")
    thief = _copy(site, client)
    assert thief.get("/coordinator/").status_code == 200
    assert thief.get(CSV).status_code == 200
    assert post(client, "/coordinator/logout").status_code == 303
    assert thief.get("/coordinator/").status_code == 302
    assert thief.get(CSV).status_code == 302
    assert client.get("/coordinator/").status_code == 302
    assert _live_sessions(site) == 0


def test_logout_ends_only_that_session(site):
    laptop = _login(site, "admin@example.org")
    phone = _login(site, "admin@example.org")
    assert post(laptop, "/coordinator/logout").status_code == 303
    assert laptop.get("/coordinator/").status_code == 302
    assert phone.get("/coordinator/").status_code == 200


def test_the_cookie_carries_nothing_of_the_password(site):
    client = _login(site, "admin@example.org")
    with site.app_context():
        stored = db.session.scalar(
            select(Coordinator.password_hash).where(Coordinator.role == "admin")
        )
    with client.session_transaction() as session:
        everything = repr(dict(session))
    assert stored[-16:] not in everything and stored[-8:] not in everything


def test_a_new_password_ends_every_other_session_and_keeps_this_one(site):
    client = _login(site, "admin@example.org")
    other = _login(site, "admin@example.org")
    thief = _copy(site, client)
    new = "una frase nueva y larga"
    answer = post(
        client, "/coordinator/password", {"current": PASSWORD, "new": new, "confirm": new}
    )
    assert answer.status_code == 303
    assert client.get("/coordinator/").status_code == 200
    assert other.get("/coordinator/").status_code == 302
    assert thief.get("/coordinator/").status_code == 302  # the copy was of the old session
    assert _live_sessions(site) == 1


def test_deactivation_ends_every_session_of_that_account_at_once(site):
    focal = _login(site, "pe@example.org")
    admin = _login(site, "admin@example.org")
    assert focal.get("/coordinator/").status_code == 200
    with site.app_context():
        focal_id = db.session.scalar(
            select(CoordinatorSession.coordinator_id).order_by(CoordinatorSession.id).limit(1)
        )
    answer = post(admin, f"/coordinator/accounts/{focal_id}/active")
    assert answer.status_code == 303
    assert focal.get("/coordinator/").status_code == 302
    assert admin.get("/coordinator/").status_code == 200


def test_a_session_unused_for_8_hours_ends(site):
    client = _login(site, "admin@example.org")
    site.config["FIXED_NOW"] = NOW + timedelta(hours=7, minutes=59)
    assert client.get("/coordinator/").status_code == 200  # used: the idle clock restarts
    site.config["FIXED_NOW"] = NOW + timedelta(hours=15, minutes=50)
    assert client.get("/coordinator/").status_code == 200
    site.config["FIXED_NOW"] = NOW + timedelta(hours=23, minutes=51)
    assert client.get("/coordinator/").status_code == 302


def test_a_session_ends_7_days_after_login_however_busy(site):
    client = _login(site, "admin@example.org")
    for hours in range(6, 7 * 24, 6):
        site.config["FIXED_NOW"] = NOW + timedelta(hours=hours)
        assert client.get("/coordinator/").status_code == 200, hours
    site.config["FIXED_NOW"] = NOW + timedelta(days=7)
    assert client.get("/coordinator/").status_code == 302
    # A new login works, and clears the ended session's row.
    _login(site, "admin@example.org")
    assert _live_sessions(site) == 1


def test_every_coordinator_page_is_private_and_never_stored(site):
    """Lists, an enrollee, the audit log and accounts were sent without Cache-Control."""
    with site.app_context():
        edition = db.session.scalar(select(Edition))
        person = make_enrollment(edition, "Pedro Pérez")
        db.session.commit()
        person_id = person.id
    real = {
        "course_slug": "pesca-acuicultura",
        "edition_slug": "2023",
        "enrollment_id": str(person_id),
    }
    client = site.test_client()
    assert client.get("/coordinator/login").headers["Cache-Control"] == "private, no-store"
    client = _login(site, "admin@example.org")
    checked = []
    for rule in site.url_map.iter_rules():
        if not rule.rule.startswith("/coordinator") or "GET" not in rule.methods:
            continue
        if set(rule.arguments) - set(real):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{argument}>", real[argument], path)
        response = client.get(path)
        response.close()  # end a streamed download's request, as a server does
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-store", path
        checked.append(path)
    assert f"{CSV}" in checked and "/coordinator/audit" in checked
    assert f"/coordinator/pesca-acuicultura/2023/enrollments/{person_id}" in checked
