"""Rate limits on registration POSTs: per e-mail address (and generous per client)."""

from __future__ import annotations

import pytest

from courses import create_app
from courses.extensions import db
from tests.factories import OPEN_NOW, counts, make_course, submit


@pytest.fixture
def limited_app(database_url):
    """Rate limits on, the reference edition open now."""
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
        make_course()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_same_email_is_limited_to_10_attempts_per_hour_other_addresses_go_on(limited_app):
    client = limited_app.test_client()
    for _ in range(10):
        assert submit(client, email="Ana@Example.org", consent=None).status_code == 422
    refused = submit(client, email="ana@example.org")
    assert refused.status_code == 429
    assert "Demasiados intentos" in refused.text
    with limited_app.app_context():
        assert counts() == (0, 0)
    assert submit(client, email="otra@example.org").status_code == 303
    # Viewing the form is never limited.
    assert client.get("/courses/pesca-acuicultura/2023/register").status_code == 200


def test_the_email_limit_counts_every_spelling_of_one_inbox_together(limited_app):
    """Fullwidth, IDNA, case and +tag spellings all reach one inbox: one limit, not many."""
    client = limited_app.test_client()
    spellings = [
        "ana@example.org",
        "ANA@EXAMPLE.ORG",
        "ana@\uff45xample.org",  # fullwidth e
        "\uff41na@example.org",  # fullwidth a
        "ana+1@example.org",
        "ana+2@Example.org",
        "ana@example.org.",
        "ana@ＥＸＡＭＰＬＥ.org",
        "Ana@example.ORG",
        "ana+3@example.org",
    ]
    for spelling in spellings:
        assert submit(client, email=spelling, consent=None).status_code == 422, spelling
    refused = submit(client, email="ana+otra@\uff45xample.org")
    assert refused.status_code == 429
    with limited_app.app_context():
        assert counts() == (0, 0)
    assert submit(client, email="bea@example.org").status_code == 303


def test_normalised_address_is_one_key_per_inbox():
    from courses.addresses import normalise_address

    assert normalise_address("ana@\uff45xample.com") == "ana@example.com"
    assert normalise_address(" ANA+news@Example.COM. ") == "ana@example.com"
    assert normalise_address("ana@exämple.com") == normalise_address("ana@xn--exmple-cua.com")
    assert normalise_address("A.n.a+1@googlemail.com") == "ana@gmail.com"
    assert normalise_address("not an address") == "not an address"
