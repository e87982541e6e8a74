"""The bundled 2023 course, `courses list` and `courses demo`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from courses.catalog.loader import read_course_files
from courses.catalog.models import Course, Edition
from courses.extensions import db
from courses.registration.models import Enrollment
from tests.catalog.catalog_helpers import BUNDLED, snapshot

CHANNEL = "https://www.youtube.com/@AlianzadelPacificoOficial/videos"
SANTIAGO = ZoneInfo("America/Santiago")
MODULES = [
    "Primeros pasos para comercializar",
    "¿Cómo montar una unidad comercial?",
    "Inocuidad y calidad",
    "Ventas",
    "E-commerce y marketing digital",
    "Barreras y oportunidades cuando se piensa exportar",
]


def bundled() -> Course:
    db.session.expire_all()
    return db.session.scalar(select(Course).where(Course.slug == "pesca-acuicultura"))


def edition(slug: str) -> Edition | None:
    return next((e for e in bundled().editions if e.slug == slug), None)


def test_the_bundled_file_reproduces_the_2023_cycle(app, load):
    result = load(BUNDLED)
    assert result.exit_code == 0, result.output
    with app.app_context():
        course = bundled()
        assert course.title["es"] == (
            "Ciclo de capacitaciones para Pesca y Acuicultura de la Alianza del Pacífico"
        )
        assert course.title["en"] and course.description["es"] and course.description["en"]
        assert course.initiative["es"] == (
            "Promover la comercialización y el consumo de productos de la pesca artesanal y "
            "acuicultura en la Alianza del Pacífico, a fin de contribuir a mitigar los efectos de "
            "la Pandemia COVID-19"
        )
        assert course.organizers == [
            "Grupo Técnico de Pesca y Acuicultura",
            "Future of Fish",
            "Universidad de Concepción",
        ]
        assert course.channel_url == CHANNEL
        assert course.timezone == "America/Santiago"
        assert course.completion == "self"
        assert course.countries == ["CL", "CO", "MX", "PE"]
        assert [m.position for m in course.modules] == [1, 2, 3, 4, 5, 6]
        assert [m.title["es"] for m in course.modules] == MODULES
        assert all(
            m.title["en"] and m.description["es"] and m.description["en"] for m in course.modules
        )
        assert all(m.video_url == CHANNEL for m in course.modules)
        (only,) = course.editions
        assert only.slug == "2023"
        assert only.registration_opens is None
        # Friday 21 July 2023 inclusive in Santiago (winter, UTC-4): closed from 22 July 04:00 UTC.
        assert only.registration_closes == datetime(2023, 7, 22, 4, tzinfo=UTC)
        assert only.registration_closes.astimezone(SANTIAGO).isoformat() == (
            "2023-07-22T00:00:00-04:00"
        )
        assert only.capacity == 0


def test_the_bundled_file_is_also_valid_as_a_quiz_course(tmp_path):
    text = BUNDLED.read_text(encoding="utf-8").replace('completion = "self"', 'completion = "quiz"')
    path = tmp_path / "quiz.toml"
    path.write_text(text, encoding="utf-8")
    (spec,) = read_course_files([path])
    assert all(module.questions for module in spec.modules)


def test_courses_list_shows_editions_window_and_counts(app, load, runner):
    assert load(BUNDLED).exit_code == 0
    with app.app_context():
        db.session.add(
            Enrollment(
                edition=edition("2023"),
                name="Ana",
                email="ana@example.com",
                email_key="ana@example.com",
                phone="+56912345678",
                country="CL",
                organization="Caleta",
                token_salt="s" * 32,
                token_hash="h" * 64,
                consent_at=datetime(2023, 7, 1, tzinfo=UTC),
                privacy_version="2023-06",
            )
        )
        db.session.commit()
    result = runner.invoke(args=["courses", "list"])
    assert result.exit_code == 0
    assert "pesca-acuicultura  (America/Santiago, 6 modules)" in result.output
    assert (
        "2023: until 2023-07-21 23:59 America/Santiago, closed, registered 1, waiting 0"
        in result.output
    )


def test_courses_list_with_no_courses(runner):
    result = runner.invoke(args=["courses", "list"])
    assert result.exit_code == 0
    assert "No courses loaded." in result.output


def test_courses_demo_opens_an_edition_for_six_weeks_and_is_idempotent(app, load, runner):
    assert load(BUNDLED).exit_code == 0
    with app.app_context():
        original = snapshot()
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    app.config["FIXED_NOW"] = now
    first = runner.invoke(args=["courses", "demo"])
    assert first.exit_code == 0, first.output
    assert "pesca-acuicultura created demo: until 2026-04-21 23:59 America/Santiago" in first.output
    with app.app_context():
        demo = edition("demo")
        assert demo.is_open(now)
        assert demo.capacity == 0
        assert demo.registration_closes == datetime.combine(
            now.astimezone(SANTIAGO).date() + timedelta(weeks=6, days=1),
            datetime.min.time(),
            tzinfo=SANTIAGO,
        )
        after_first = snapshot()
    second = runner.invoke(args=["courses", "demo"])
    assert second.exit_code == 0
    assert "pesca-acuicultura unchanged demo" in second.output
    with app.app_context():
        assert snapshot() == after_first
        # The 2023 edition is untouched: the rows from before the demo are all still the same
        # (but the course's, which gains fictitious contacts so the demo shows them).
        assert all(row in after_first for row in original if row[0] != "course")
        assert edition("2023").state(now) == "closed"
        contacts = edition("demo").course.contacts
    assert [c["country"] for c in contacts] == ["CL", "CO", "MX", "PE"]
    assert all(c["email"].endswith("@example.org") and not c["whatsapp"] for c in contacts)
    assert all("ficticio" in c["name"]["es"] for c in contacts)


def test_courses_demo_moves_the_deadline_on_a_later_day(app, load, runner):
    assert load(BUNDLED).exit_code == 0
    app.config["FIXED_NOW"] = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    assert runner.invoke(args=["courses", "demo"]).exit_code == 0
    app.config["FIXED_NOW"] = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
    result = runner.invoke(args=["courses", "demo"])
    assert "pesca-acuicultura updated demo: until 2026-05-01 23:59" in result.output
    # Reloading the course file keeps the demo edition (absent editions are never deleted).
    assert load(BUNDLED).exit_code == 0
    with app.app_context():
        assert edition("demo") is not None


def test_courses_demo_needs_the_bundled_course(app, runner):
    result = runner.invoke(args=["courses", "demo"])
    assert result.exit_code != 0
    assert "is not loaded" in result.stderr
    with app.app_context():
        assert snapshot() == []
