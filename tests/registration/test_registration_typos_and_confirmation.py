"""A mistyped e-mail domain is questioned (one tap fixes it), errors are summarised at the top,
the confirmation shows the link to the browser that registered, extra questions are stored."""

from __future__ import annotations

import html
import re

import pytest

from courses.catalog.models import Edition
from courses.extensions import db
from courses.registration.typos import suggest_address
from tests.factories import (
    DONE_URL,
    FORM_URL,
    OPEN_NOW,
    VALID,
    counts,
    csrf_token,
    enrollments,
    make_course,
    messages,
)

GENDER = {
    "key": "gender",
    "label": {"es": "Género", "en": "Gender"},
    "kind": "choice",
    "choices": [{"es": "Mujer", "en": "Woman"}, {"es": "Hombre", "en": "Man"}],
    "required": True,
}
BOAT = {
    "key": "boat",
    "label": {"es": "Embarcación"},
    "kind": "text",
    "choices": [],
    "required": False,
}


@pytest.fixture
def edition(app) -> int:
    """The reference edition, open now (committed); its id."""
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        edition = make_course()
        db.session.commit()
        return edition.id


def post(client, data: dict):
    response = client.post(FORM_URL, data=data)
    response.close()
    return response


def form_values(page: str) -> dict:
    """What a browser sends back for the page's registration form, as it is."""
    form = page[page.index('method="post"') :]
    values = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or ('type="checkbox"' in tag and "checked" not in tag):
            continue
        if 'type="radio"' in tag and "checked" not in tag:
            continue
        values[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(
            r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select.group(2)
        )
        values[select.group(1)] = (chosen.group(1) or chosen.group(2)) if chosen else ""
    return values


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("juan.quispe@gmial.com", "juan.quispe@gmail.com"),
        ("juan@gmal.com", "juan@gmail.com"),
        ("juan@hotmal.com", "juan@hotmail.com"),
        ("juan@hotmial.com", "juan@hotmail.com"),
        ("juan@yahoo.con", "juan@yahoo.com"),
        ("juan@outlok.com", "juan@outlook.com"),
    ],
)
def test_common_misspellings_are_suggested(typed, meant):
    assert suggest_address(typed) == meant


@pytest.mark.parametrize(
    "right", ["a@gmail.com", "a@hotmail.cl", "a@yahoo.com.ar", "a@mail.com", "a@udec.cl"]
)
def test_real_domains_are_left_alone(right):
    assert suggest_address(right) is None


def test_a_mistyped_domain_is_questioned_and_stores_nothing(app, client, edition):
    data = {**VALID, "email": "juan.quispe@gmial.com", "csrf_token": csrf_token(client)}
    response = post(client, data)
    assert response.status_code == 422
    assert "¿Quisiste decir juan.quispe@gmail.com?" in response.text
    assert 'name="suggested_email" value="juan.quispe@gmail.com"' in response.text
    with app.app_context():
        assert counts() == (0, 0)


def test_tapping_the_suggestion_registers_the_corrected_address(app, client, edition):
    data = {**VALID, "email": "juan.quispe@gmial.com", "csrf_token": csrf_token(client)}
    page = post(client, data).text
    again = form_values(page) | {"suggested_email": "juan.quispe@gmail.com"}
    response = post(client, again)
    assert response.status_code == 303, response.text
    with app.app_context():
        [enrollment] = enrollments()
    assert enrollment.email == "juan.quispe@gmail.com"
    with app.app_context():
        assert messages()[0].recipient == "juan.quispe@gmail.com"


def test_the_form_sent_again_unchanged_registers_the_address_as_typed(app, client, edition):
    data = {**VALID, "email": "juan.quispe@gmial.com", "csrf_token": csrf_token(client)}
    page = post(client, data).text
    values = form_values(page)
    assert values["email"] == "juan.quispe@gmial.com"
    assert values["email_as_typed"] == "juan.quispe@gmial.com"
    response = post(client, values)
    assert response.status_code == 303, response.text
    with app.app_context():
        assert [e.email for e in enrollments()] == ["juan.quispe@gmial.com"]


def test_a_different_mistyped_address_is_questioned_again(app, client, edition):
    data = {**VALID, "email": "juan@gmial.com", "csrf_token": csrf_token(client)}
    values = form_values(post(client, data).text) | {"email": "juan@hotmial.com"}
    response = post(client, values)
    assert response.status_code == 422
    assert "¿Quisiste decir juan@hotmail.com?" in response.text
    with app.app_context():
        assert counts() == (0, 0)


def test_refused_form_starts_with_a_summary_linking_each_field(app, client, edition):
    data = {**VALID, "name": "", "phone": "12", "csrf_token": csrf_token(client)}
    data.pop("consent")
    response = post(client, data)
    assert response.status_code == 422
    page = response.text
    assert 'action="/courses/pesca-acuicultura/2023/register#errores"' in page
    summary = page[page.index('id="errores"') : page.index("</div>", page.index('id="errores"'))]
    assert page.index('id="errores"') < page.index('method="post"')
    assert "Revisa 3 datos" in summary
    links = re.findall(r'<a href="#([a-z_-]+)">', summary)
    assert links == ["name", "phone", "consent"]
    for anchor in links:
        assert re.search(rf'<input[^>]*id="{anchor}"[^>]*aria-invalid="true"', page) or re.search(
            rf'<input[^>]*aria-invalid="true"[^>]*id="{anchor}"', page
        )
    with app.app_context():
        assert counts() == (0, 0)


def test_confirmation_shows_the_address_and_link_only_to_the_browser_that_registered(
    app, client, edition
):
    assert post(client, {**VALID, "csrf_token": csrf_token(client)}).status_code == 303
    page = client.get(DONE_URL)
    assert "maria@example.org" in page.text
    assert "Guardar mi enlace en WhatsApp" in page.text
    with app.app_context():
        [enrollment] = enrollments()
    from courses.participants.services import enrollment_by_token

    token = re.search(r'href="/my/([A-Za-z0-9_-]{27})"', page.text).group(1)
    with app.app_context():
        assert enrollment_by_token(token).id == enrollment.id
    assert "https://wa.me/?text=" in page.text and token in page.text
    stranger = app.test_client().get(DONE_URL)
    assert "maria@example.org" not in stranger.text and token not in stranger.text


def test_confirmation_for_an_address_already_registered_shows_no_link(app, client, edition):
    assert post(client, {**VALID, "csrf_token": csrf_token(client)}).status_code == 303
    other = app.test_client()
    response = post(other, {**VALID, "name": "Otra Persona", "csrf_token": csrf_token(other)})
    assert response.status_code == 303
    page = other.get(DONE_URL).text
    assert "ya está inscrito" in page
    assert not re.search(r"/my/[A-Za-z0-9_-]{27}", page)
    assert "Guardar mi enlace en WhatsApp" not in page


def test_extra_questions_follow_the_five_fields_and_are_stored(app, client, edition):
    with app.app_context():
        db.session.get(Edition, edition).course.questions = [GENDER, BOAT]
        db.session.commit()
    form = client.get(FORM_URL).text
    assert (
        form.index('name="organization"')
        < form.index('name="q_gender"')
        < form.index('name="consent"')
    )
    assert "Embarcación (opcional)" in form
    data = {
        **VALID,
        "q_gender": "1",
        "q_boat": "  La   Esperanza ",
        "csrf_token": csrf_token(client),
    }
    assert post(client, data).status_code == 303
    with app.app_context():
        [enrollment] = enrollments()
    assert enrollment.answers == {"gender": "Mujer", "boat": "La Esperanza"}


@pytest.mark.parametrize("value", [None, "", "3", "x"])
def test_a_required_choice_left_out_or_invalid_is_refused_and_stores_nothing(
    app, client, edition, value
):
    with app.app_context():
        db.session.get(Edition, edition).course.questions = [GENDER]
        db.session.commit()
    data = {**VALID, "csrf_token": csrf_token(client)}
    if value is not None:
        data["q_gender"] = value
    response = post(client, data)
    assert response.status_code == 422
    assert '<p class="error" id="q_gender-error">Elige una de las opciones.</p>' in response.text
    assert '<a href="#q_gender-0">' in response.text
    with app.app_context():
        assert counts() == (0, 0)
