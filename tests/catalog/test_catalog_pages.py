"""The catalogue and course pages, as a visitor sees them, at chosen instants."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from courses.catalog.models import Course, Edition
from courses.catalog.services import current_edition, registration_state
from courses.extensions import db
from tests.catalog.catalog_helpers import BUNDLED, EXAMPLE

SANTIAGO = ZoneInfo("America/Santiago")
LAST_SECOND = datetime(2023, 7, 21, 23, 59, 59, tzinfo=SANTIAGO)
FIRST_CLOSED = datetime(2023, 7, 22, 0, 0, 0, tzinfo=SANTIAGO)
REGISTER = "/courses/pesca-acuicultura/2023/register"


@pytest.fixture
def bundled(load):
    assert load(BUNDLED).exit_code == 0


def page(client, url: str, query_string: dict | None = None, **headers) -> str:
    response = client.get(url, headers=headers, query_string=query_string)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_course_page_is_open_at_the_last_second_of_the_closing_day(app, client, bundled):
    app.config["FIXED_NOW"] = LAST_SECOND
    html = page(client, "/courses/pesca-acuicultura")
    assert (
        "Inscripciones abiertas hasta el viernes, 21 de julio de 2023, 23:59 (hora de Chile)"
        in html
    )
    assert f'href="{REGISTER}"' in html
    for title in ("Primeros pasos para comercializar", "Inocuidad y calidad", "Ventas"):
        assert title in html
    assert "Universidad de Concepción" in html
    assert "a fin de contribuir a mitigar los efectos de la Pandemia COVID-19" in html


def test_the_course_page_is_closed_at_midnight_ending_the_closing_day(app, client, bundled):
    app.config["FIXED_NOW"] = FIRST_CLOSED
    html = page(client, "/courses/pesca-acuicultura")
    assert (
        "Las inscripciones cerraron el viernes, 21 de julio de 2023, 23:59 (hora de Chile)" in html
    )
    assert REGISTER not in html
    assert "Inscribirme" not in html


def test_an_upcoming_edition_says_when_it_opens(app, client, course_file, load):
    assert load(course_file()).exit_code == 0
    app.config["FIXED_NOW"] = datetime(2023, 5, 31, 12, tzinfo=UTC)
    html = page(client, "/courses/ejemplo")
    assert (
        "Las inscripciones abren el jueves, 1 de junio de 2023 (hora de Chile) y cierran el "
        "viernes, 21 de julio de 2023, 23:59 (hora de Chile)"
    ) in html
    assert "/courses/ejemplo/2023/register" not in html


@pytest.mark.parametrize(
    ("country", "words"),
    [
        ("PE", "En Perú: viernes, 21 de julio de 2023, 22:59 (hora de Perú)"),
        ("CO", "En Colombia: viernes, 21 de julio de 2023, 22:59 (hora de Colombia)"),
        # Mexico has had no summer time since 2022: UTC-6, two hours behind Chile's winter.
        ("MX", "En México: viernes, 21 de julio de 2023, 21:59 (hora de México)"),
        ("CL", "En Chile: viernes, 21 de julio de 2023, 23:59 (hora de Chile)"),
    ],
)
def test_the_deadline_is_shown_in_the_country_the_visitor_picks(
    app, client, bundled, country, words
):
    app.config["FIXED_NOW"] = LAST_SECOND
    html = page(client, f"/courses/pesca-acuicultura?country={country}")
    assert words in html
    assert f'<option selected value="{country}">' in html


@pytest.mark.parametrize("country", ["XX", "CR", "", "<script>"])
def test_a_country_outside_the_course_is_ignored(app, client, bundled, country):
    app.config["FIXED_NOW"] = LAST_SECOND
    html = page(client, "/courses/pesca-acuicultura", query_string={"country": country})
    for name in ("Chile", "Colombia", "México", "Perú", "Costa Rica"):
        assert f"En {name}:" not in html
    assert "<script>" not in html


def test_the_country_picker_is_a_plain_get_form_with_a_label(app, client, bundled):
    app.config["FIXED_NOW"] = LAST_SECOND
    html = page(client, "/courses/pesca-acuicultura")
    assert '<form method="get" action="/courses/pesca-acuicultura"' in html
    assert '<label for="country">' in html
    for code in ("CL", "CO", "MX", "PE"):
        assert f'value="{code}"' in html


def test_the_catalogue_lists_open_then_upcoming_then_closed(app, client, course_file, load):
    files = [
        # Slugs sort the other way round, so the order below comes from the states.
        EXAMPLE.replace('"ejemplo"', '"a-cerrado"')
        .replace("Curso de ejemplo", "Curso Cerrado")
        .replace("2023-06-01", "2023-05-01")
        .replace("2023-07-21", "2023-06-01"),
        EXAMPLE.replace('"ejemplo"', '"b-proximo"')
        .replace("Curso de ejemplo", "Curso Próximo")
        .replace("2023-06-01", "2023-08-01")
        .replace("2023-07-21", "2023-09-01"),
        EXAMPLE.replace('"ejemplo"', '"c-abierto"').replace("Curso de ejemplo", "Curso Abierto"),
    ]
    assert load(*(course_file(text) for text in files)).exit_code == 0
    app.config["FIXED_NOW"] = datetime(2023, 7, 1, 12, tzinfo=UTC)
    html = page(client, "/")
    positions = [html.index(t) for t in ("Curso Abierto", "Curso Próximo", "Curso Cerrado")]
    assert positions == sorted(positions)
    assert html.index("state-open") < html.index("state-upcoming") < html.index("state-closed")
    assert "Inscripciones abiertas hasta el viernes, 21 de julio de 2023, 23:59" in html
    assert "Las inscripciones abren el martes, 1 de agosto de 2023" in html
    assert "Las inscripciones cerraron el jueves, 1 de junio de 2023, 23:59" in html


def test_the_current_edition_is_the_open_one_else_the_next_else_the_last_closed(
    app, course_file, load
):
    text = EXAMPLE + (
        '\n[[editions]]\nslug = "2024"\nregistration_opens = 2024-06-01\n'
        "registration_closes = 2024-07-19\n"
    )
    assert load(course_file(text)).exit_code == 0
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.slug == "ejemplo"))
        at = lambda *args: datetime(*args, tzinfo=UTC)  # noqa: E731
        assert current_edition(course, at(2023, 7, 1)).slug == "2023"
        assert current_edition(course, at(2023, 8, 1)).slug == "2024"
        assert current_edition(course, at(2024, 7, 1)).slug == "2024"
        assert current_edition(course, at(2025, 1, 1)).slug == "2024"
        state = registration_state(course.editions[0], at(2023, 7, 1), "en", country="PE")
        assert state.state == "open"
        assert state.sentence == "Registration open until Friday, July 21, 2023, 23:59 (Chile time)"
        assert state.deadline_words == "Friday, July 21, 2023, 23:59 (Chile time)"
        assert state.deadline_in_country == "In Peru: Friday, July 21, 2023, 22:59 (Peru time)"
        assert state.opens_words == "Thursday, June 1, 2023 (Chile time)"


def test_the_course_page_lists_the_other_editions_latest_first(app, client, course_file, load):
    text = EXAMPLE + "".join(
        f'\n[[editions]]\nslug = "{slug}"\nregistration_opens = {opens}\n'
        f"registration_closes = {closes}\n"
        for slug, opens, closes in [
            ("2022", "2022-06-01", "2022-07-15"),
            ("2024", "2024-06-01", "2024-07-19"),
        ]
    )
    assert load(course_file(text)).exit_code == 0
    app.config["FIXED_NOW"] = datetime(2023, 7, 1, 12, tzinfo=UTC)
    html = page(client, "/courses/ejemplo")
    current, others = html.split("Otras ediciones")
    assert "Edición 2023" in current and 'href="/courses/ejemplo/2023/register"' in current
    assert others.index("Edición 2024") < others.index("Edición 2022")
    assert "Las inscripciones abren el sábado, 1 de junio de 2024" in others
    assert "Las inscripciones cerraron el viernes, 15 de julio de 2022, 23:59" in others


def test_a_course_without_editions_says_there_are_no_dates_yet(app, client, course_file, load):
    assert load(course_file()).exit_code == 0
    with app.app_context():
        db.session.execute(delete(Edition))
        db.session.commit()
    html = page(client, "/courses/ejemplo")
    assert "Todavía no hay fechas para este curso." in html
    assert "Curso de ejemplo" in html and "Otras ediciones" not in html


def test_an_unknown_course_is_a_plain_404(client):
    response = client.get("/courses/no-existe")
    assert response.status_code == 404
    assert "Página no encontrada" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/", "/courses/pesca-acuicultura?country=PE"])
def test_each_page_with_its_stylesheet_weighs_under_30_kb(app, client, bundled, url):
    app.config["FIXED_NOW"] = LAST_SECOND
    html = client.get(url).get_data()
    with client.get("/static/style.css") as response:
        css = response.get_data()
    assert len(html) + len(css) < 30 * 1024
    assert "<script" not in html.decode() and "style=" not in html.decode()
