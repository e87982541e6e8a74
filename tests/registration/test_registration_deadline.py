"""The deadline is read in the course's time zone (America/Santiago) when the POST arrives."""

from __future__ import annotations

from datetime import UTC, datetime

from courses.extensions import db
from tests.factories import (
    CLOSES,
    FORM_URL,
    OPENS,
    SANTIAGO,
    VALID,
    counts,
    csrf_token,
    make_course,
    submit,
)

LAST_SECOND = datetime(2023, 7, 21, 23, 59, 59, tzinfo=SANTIAGO)
MIDNIGHT = datetime(2023, 7, 22, 0, 0, 0, tzinfo=SANTIAGO)
CLOSED_WORDS = "Las inscripciones cerraron el viernes, 21 de julio de 2023, 23:59 (hora de Chile)"


def test_closing_instant_is_local_midnight_in_santiago_not_utc(app):
    with app.app_context():
        make_course()
        db.session.commit()
    assert CLOSES == MIDNIGHT
    assert MIDNIGHT.astimezone(UTC) == datetime(2023, 7, 22, 4, 0, tzinfo=UTC)


def test_registration_at_23_59_59_local_on_the_closing_day_is_accepted(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    app.config["FIXED_NOW"] = LAST_SECOND
    assert submit(client).status_code == 303
    with app.app_context():
        assert counts() == (1, 1)


def test_registration_after_utc_midnight_but_before_local_midnight_is_accepted(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    # 22 July 02:00 UTC is still Friday 21 July, 22:00, in Chile.
    app.config["FIXED_NOW"] = datetime(2023, 7, 22, 2, 0, tzinfo=UTC)
    assert submit(client).status_code == 303


def test_registration_at_00_00_00_local_after_the_closing_day_is_refused_and_stores_nothing(
    app, client
):
    with app.app_context():
        make_course()
        db.session.commit()
    app.config["FIXED_NOW"] = LAST_SECOND
    token = csrf_token(client)
    app.config["FIXED_NOW"] = MIDNIGHT
    response = client.post(FORM_URL, data={**VALID, "csrf_token": token})
    assert response.status_code == 403
    assert CLOSED_WORDS in response.text
    assert 'name="organization"' not in response.text
    with app.app_context():
        assert counts() == (0, 0)


def test_form_opened_before_the_deadline_and_sent_after_it_is_refused(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    app.config["FIXED_NOW"] = datetime(2023, 7, 21, 23, 50, tzinfo=SANTIAGO)
    page = client.get(FORM_URL)
    assert '<form method="post"' in page.text
    token = csrf_token(client)
    app.config["FIXED_NOW"] = datetime(2023, 7, 22, 0, 5, tzinfo=SANTIAGO)
    response = client.post(FORM_URL, data={**VALID, "csrf_token": token})
    assert response.status_code == 403
    assert CLOSED_WORDS in response.text
    with app.app_context():
        assert counts() == (0, 0)


def test_closed_edition_shows_the_state_and_no_form(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    app.config["FIXED_NOW"] = datetime(2023, 8, 1, tzinfo=UTC)
    page = client.get(FORM_URL)
    assert page.status_code == 200
    assert CLOSED_WORDS in page.text
    assert 'name="organization"' not in page.text


def test_upcoming_edition_shows_when_it_opens_and_refuses_posts(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    app.config["FIXED_NOW"] = datetime(2023, 5, 20, tzinfo=UTC)
    page = client.get(FORM_URL)
    assert "Las inscripciones abren el jueves, 1 de junio de 2023" in page.text
    assert 'name="organization"' not in page.text
    app.config["FIXED_NOW"] = OPENS  # read the token from an open form, then go back in time
    token = csrf_token(client)
    app.config["FIXED_NOW"] = datetime(2023, 5, 20, tzinfo=UTC)
    response = client.post(FORM_URL, data={**VALID, "csrf_token": token})
    assert response.status_code == 403
    with app.app_context():
        assert counts() == (0, 0)


def test_open_form_shows_the_deadline_in_course_time_and_in_a_chosen_country(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    app.config["FIXED_NOW"] = datetime(2023, 7, 10, tzinfo=UTC)
    page = client.get(FORM_URL)
    assert "viernes, 21 de julio de 2023, 23:59 (hora de Chile)" in page.text
    page = client.get(FORM_URL + "?country=PE")
    # Chile is UTC-4 in July, Perú UTC-5: the last open minute there is 22:59.
    assert "En Perú: viernes, 21 de julio de 2023, 22:59 (hora de Perú)" in page.text
    assert '<option selected value="PE">Perú</option>' in page.text


def test_english_closed_message(app, client):
    with app.app_context():
        make_course()
        db.session.commit()
    client.set_cookie("lang", "en")
    app.config["FIXED_NOW"] = datetime(2023, 9, 1, tzinfo=UTC)
    page = client.get(FORM_URL)
    assert "Friday, July 21, 2023" in page.text
