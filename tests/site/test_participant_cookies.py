"""Participant pages send only the session cookie: nothing from the coordinators' login."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.registration.registration_helpers import FORM_URL, make_edition


def test_the_registration_form_sets_only_the_session_cookie(app, client):
    app.config["FIXED_NOW"] = datetime(2023, 7, 10, 15, tzinfo=UTC)
    make_edition()
    first = client.get(FORM_URL)
    again = client.get(FORM_URL)  # now with a session holding the CSRF token
    for response in (first, again):
        assert response.status_code == 200
        names = [cookie.split("=", 1)[0] for cookie in response.headers.getlist("Set-Cookie")]
        assert "remember_token" not in names
        assert set(names) <= {"session"}
