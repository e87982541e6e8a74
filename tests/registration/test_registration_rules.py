"""Each registration rule, accepted and refused, through the form as a person would use it."""

from __future__ import annotations

import re

import pytest

from courses.extensions import db
from tests.factories import (
    DONE_URL,
    FORM_URL,
    OPEN_NOW,
    VALID,
    counts,
    enrollments,
    make_course,
    messages,
    submit,
)


@pytest.fixture
def edition(app) -> int:
    """The reference edition, open now (committed); its id."""
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        edition = make_course()
        db.session.commit()
        return edition.id


def error_for(response, field: str) -> str:
    """The error shown next to `field`, checking it is tied to the input."""
    html = response.text
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert match, f"no error next to {field}"
    tag = re.search(rf'<(?:input|select)[^>]*\bid="{field}"[^>]*>', html).group(0)
    assert f"{field}-error" in tag and 'aria-invalid="true"' in tag
    return match.group(1)


@pytest.fixture
def assert_refused(app):
    """Check that a form was refused and stored nothing; the error next to `field`."""

    def check(response, field: str, *, kept: dict | None = None) -> str:
        assert response.status_code == 422
        with app.app_context():
            assert counts() == (0, 0)
        for name, value in (kept or {}).items():
            assert f'value="{value}"' in response.text, f"{name} kept"
        return error_for(response, field)

    return check


def test_valid_registration_redirects_to_the_confirmation_and_stores_everything(
    app, client, edition
):
    response = submit(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(DONE_URL)
    with app.app_context():
        [enrollment] = enrollments()
    assert enrollment.name == VALID["name"]
    assert enrollment.email == "maria@example.org"
    assert enrollment.email_key == "maria@example.org"
    assert enrollment.phone == "+56961234567"
    assert enrollment.country == "CL"
    assert enrollment.organization == VALID["organization"]
    assert enrollment.consent_at == OPEN_NOW
    assert enrollment.privacy_version == app.config["PRIVACY_NOTICE_VERSION"]
    assert enrollment.locale == "es"
    assert enrollment.status == "registered" and enrollment.seat is None
    assert len(enrollment.token_hash) == 64 and enrollment.token_salt
    page = client.get(DONE_URL)
    assert "Revisa tu correo" in page.text
    # The browser that registered sees where the link went, and the link itself.
    assert VALID["email"] in page.text
    assert re.search(r'href="/my/[A-Za-z0-9_-]{27}"', page.text), "the personal link is shown"
    assert page.headers["Cache-Control"] == "private, no-store"
    other = app.test_client().get(DONE_URL)
    assert VALID["email"] not in other.text
    assert not re.search(r"/my/[A-Za-z0-9_-]{27}", other.text), "not to another browser"
    with app.app_context():
        [message] = messages()
    assert message.recipient == "maria@example.org" and message.kind == "confirmation"


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("  José   Ñancupil\tHuenchullán ", "José Ñancupil Huenchullán"),
        ("Ana-María O'Connor", "Ana-María O'Connor"),
        ("Zoë Dí\u00a0Ängelo", "Zoë Dí Ängelo"),
        ("Ли Мин", "Ли Мин"),
        ("李明", "李明"),
    ],
)
def test_name_is_trimmed_and_collapsed_but_otherwise_kept_exactly(
    app, client, edition, typed, stored
):
    assert submit(client, name=typed).status_code == 303
    with app.app_context():
        assert enrollments()[0].name == stored


@pytest.mark.parametrize("typed", ["", "   ", "A", "x" * 121, "12", "Ana\x00Ruiz"])
def test_bad_name_is_refused_next_to_the_field_and_stores_nothing(
    assert_refused, client, edition, typed
):
    response = submit(client, name=typed)
    assert assert_refused(response, "name", kept={"email": VALID["email"]})


def test_name_of_exactly_120_characters_is_accepted(client, edition):
    assert submit(client, name="a" * 120).status_code == 303


def test_email_is_stored_normalised_with_a_lower_case_key(app, client, edition):
    assert submit(client, email="  Pedro.Rojas@EXAMPLE.Org ").status_code == 303
    with app.app_context():
        [enrollment] = enrollments()
    assert enrollment.email == "Pedro.Rojas@example.org"
    assert enrollment.email_key == "pedro.rojas@example.org"


@pytest.mark.parametrize(
    "typed", ["", "pedro", "pedro@", "@example.org", "pedro@@example.org", "a b@example.org"]
)
def test_bad_email_is_refused_and_stores_nothing(assert_refused, client, edition, typed):
    response = submit(client, email=typed)
    assert "correo electrónico" in assert_refused(response, "email")


def test_email_needs_no_dns_lookup(client, edition):
    # A domain that does not exist is fine: only the syntax is checked at request time.
    assert submit(client, email="ana@no-such-domain-for-tests.invalid-tld").status_code == 303


@pytest.mark.parametrize(
    "country, typed, e164",
    [
        ("CL", "9 6123 4567", "+56961234567"),
        ("CL", "+56 9 6123-4567", "+56961234567"),
        ("CL", "(9) 6123 4567", "+56961234567"),
        ("CO", "300 123 4567", "+573001234567"),
        ("CO", "(300) 123-4567", "+573001234567"),
        ("CO", "+57 300 123 4567", "+573001234567"),
        ("MX", "55 1234 5678", "+525512345678"),
        ("MX", "+52 (55) 1234-5678", "+525512345678"),
        ("PE", "912 345 678", "+51912345678"),
        ("PE", "+51 912-345-678", "+51912345678"),
    ],
)
def test_phone_national_formats_are_accepted_and_stored_in_e164(
    app, client, edition, country, typed, e164
):
    assert submit(client, country=country, phone=typed).status_code == 303
    with app.app_context():
        assert enrollments()[0].phone == e164


@pytest.mark.parametrize(
    "country, typed, example",
    [
        ("CL", "123", "Chile: 9 6123 4567"),
        ("CO", "300 123", "Colombia: 321 1234567"),
        ("MX", "abc", "México: 222 123 4567"),
        ("PE", "0000000000000", "Perú: 912 345 678"),
    ],
)
def test_invalid_phone_is_refused_with_an_example_for_the_chosen_country(
    assert_refused, client, edition, country, typed, example
):
    response = submit(client, country=country, phone=typed)
    message = assert_refused(response, "phone", kept={"phone": typed})
    assert example in message


def test_missing_phone_is_refused(assert_refused, client, edition):
    assert_refused(submit(client, phone=""), "phone")


def test_country_outside_the_course_is_refused(assert_refused, client, edition):
    assert "Elige tu país" in assert_refused(submit(client, country="AR"), "country")


def test_country_select_offers_the_course_countries_with_localised_names(client, edition):
    page = client.get(FORM_URL).text
    select = re.search(r'<select[^>]*id="country".*?</select>', page, re.S).group(0)
    assert re.findall(r'value="([A-Z]{2})"', select) == ["CL", "CO", "MX", "PE"]
    assert ">México<" in select and ">Perú<" in select


@pytest.mark.parametrize("typed", ["", "X", "o" * 201])
def test_bad_organization_is_refused(assert_refused, client, edition, typed):
    assert_refused(submit(client, organization=typed), "organization")


def test_consent_is_required(assert_refused, client, edition):
    response = submit(client, consent=None)
    assert "aviso de privacidad" in assert_refused(response, "consent")


def test_every_problem_is_shown_at_once_with_the_values_kept(app, client, edition):
    response = submit(client, name="", email="bad", phone="1", organization="", consent=None)
    assert response.status_code == 422
    for field in ("name", "email", "phone", "organization", "consent"):
        error_for(response, field)
    assert 'value="bad"' in response.text and 'value="1"' in response.text
    with app.app_context():
        assert counts() == (0, 0)


def test_form_has_labels_types_autocomplete_and_a_privacy_link(client, edition):
    page = client.get(FORM_URL).text
    assert '<html lang="es">' in page
    for field, kind, autocomplete in [
        ("name", "text", "name"),
        ("email", "email", "email"),
        ("phone", "tel", "tel"),
        ("organization", "text", "organization"),
    ]:
        assert f'<label for="{field}">' in page
        tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', page).group(0)
        assert f'type="{kind}"' in tag and f'autocomplete="{autocomplete}"' in tag
        assert f'name="{field}"' in tag
    assert 'autocomplete="country"' in page
    assert 'name="consent" required type="checkbox" value="y"' in page
    assert 'href="/privacy"' in page
    assert "9 6123 4567" in page  # a phone example as a hint
    assert "style=" not in page and "<script" not in page


def test_english_form_errors_and_confirmation(app, client, edition):
    client.set_cookie("lang", "en")
    page = client.get(FORM_URL).text
    assert '<html lang="en">' in page and "First and last name" in page
    response = submit(client, phone="12", country="PE")
    assert response.status_code == 422
    assert "Example for Peru: 912 345 678" in error_for(response, "phone")
    assert submit(client).status_code == 303
    with app.app_context():
        assert enrollments()[0].locale == "en"
    assert "Check your e-mail" in client.get(DONE_URL).text
