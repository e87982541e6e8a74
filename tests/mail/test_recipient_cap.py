"""At most 3 "already registered" or lost-link messages to one inbox a day, however the address
is spelled, so nobody can flood a person's inbox through our forms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from courses.extensions import db
from courses.mail.services import recipient_key
from tests.factories import OPEN_NOW, make_course, messages, submit


@pytest.fixture(autouse=True)
def open_now(app):
    app.config["FIXED_NOW"] = OPEN_NOW


def test_one_key_for_every_spelling_of_an_inbox():
    keys = {
        recipient_key(spelling)
        for spelling in (
            "maria@example.org",
            "MARIA@Example.ORG",
            " maria@example.org. ",
            "ｍａｒｉａ@ｅｘａｍｐｌｅ.org",  # fullwidth, as some phone keyboards type
        )
    }
    assert keys == {"maria@example.org"}
    assert recipient_key("josé@bücher.example") == recipient_key("JOSÉ@xn--bcher-kva.example")
    assert recipient_key("otra@example.org") != recipient_key("maria@example.org")


def test_the_form_cannot_flood_an_inbox_with_already_registered_mail(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    assert submit(client).status_code == 303  # the registration and its confirmation
    for spelling in (
        "MARIA@example.org",
        "maria@EXAMPLE.org",
        "Maria@Example.Org",
        "maria@example.org",
    ):
        # Answered the same way every time: the form never says what it did.
        assert submit(client, email=spelling).status_code == 303
    with app.app_context():
        kinds = [m.kind for m in messages()]
    assert kinds.count("confirmation") == 1
    assert kinds.count("already-registered") == 3
    # A day later the person can be reminded again.
    app.config["FIXED_NOW"] = OPEN_NOW + timedelta(days=1, minutes=1)
    submit(client, email="MARIA@example.org")
    with app.app_context():
        assert [m.kind for m in messages()].count("already-registered") == 4


def test_the_lost_link_form_is_capped_too_and_confirmations_are_not(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    submit(client)
    for _ in range(5):
        page = client.get("/my/lost")
        token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        assert client.post(
            "/my/lost", data={"email": "Maria@Example.org", "csrf_token": token}
        ).status_code in (200, 303)
    with app.app_context():
        kinds = [m.kind for m in messages()]
    assert kinds.count("lost-link") == 3
    assert kinds.count("confirmation") == 1
