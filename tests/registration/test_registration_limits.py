"""Rate limits on registration POSTs: per e-mail address (and generous per client)."""

from __future__ import annotations

import pytest
from registration_helpers import OPEN_NOW, counts, make_edition, submit

from courses import create_app
from courses.extensions import db


@pytest.fixture
def limited_app(database_url):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "FIXED_NOW": OPEN_NOW,
        },
    )
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_same_email_is_limited_to_10_attempts_per_hour_other_addresses_go_on(limited_app):
    make_edition()
    client = limited_app.test_client()
    for _ in range(10):
        assert submit(client, email="Ana@Example.org", consent=None).status_code == 422
    refused = submit(client, email="ana@example.org")
    assert refused.status_code == 429
    assert "Demasiados intentos" in refused.text
    assert counts() == (0, 0)
    assert submit(client, email="otra@example.org").status_code == 303
    # Viewing the form is never limited.
    assert client.get("/courses/pesca-acuicultura/2023/register").status_code == 200
