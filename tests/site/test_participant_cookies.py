"""Participant pages send only the session cookie: nothing from the coordinators' login."""

from __future__ import annotations

from datetime import UTC, datetime

from courses.extensions import db
from tests.factories import FORM_URL, make_course


def test_the_registration_form_sets_only_the_session_cookie(app, client):
    app.config["FIXED_NOW"] = datetime(2023, 7, 10, 15, tzinfo=UTC)
    with app.app_context():
        make_course()
        db.session.commit()
    first = client.get(FORM_URL)
    again = client.get(FORM_URL)  # now with a session holding the CSRF token
    for response in (first, again):
        assert response.status_code == 200
        names = [cookie.split("=", 1)[0] for cookie in response.headers.getlist("Set-Cookie")]
        assert "remember_token" not in names
        assert set(names) <= {"session"}
