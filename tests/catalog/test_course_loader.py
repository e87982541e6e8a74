"""`courses load`: course files are checked whole, written all or nothing, and upserted by slug."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from courses.catalog import sections
from courses.catalog.checker import Checker
from courses.catalog.extra_keys import parse_contacts
from courses.catalog.models import Course, Edition, Module
from courses.extensions import db
from courses.participants.models import ModuleCompletion
from courses.registration.models import Enrollment
from tests.catalog.catalog_helpers import BUNDLED, EXAMPLE, snapshot


def course(slug: str = "ejemplo") -> Course:
    db.session.expire_all()
    return db.session.scalar(select(Course).where(Course.slug == slug))


def test_a_valid_file_is_loaded_with_localized_texts_modules_and_editions(app, course_file, load):
    result = load(course_file())
    assert result.exit_code == 0, result.output
    assert "ejemplo: created" in result.output
    with app.app_context():
        loaded = course()
        assert loaded.title == {"es": "Curso de ejemplo", "en": "Example course"}
        assert loaded.description == {"es": "Un curso corto."}
        assert loaded.countries == ["CL", "PE"]
        assert [(m.position, m.title, m.minutes) for m in loaded.modules] == [
            (1, {"es": "Uno"}, 20),
            (2, {"es": "Dos", "en": "Two"}, None),
        ]
        (edition,) = loaded.editions
    # Opens at the start of 1 June, Santiago (UTC-4 in winter); closes at the midnight ending
    # 21 July there, so the whole of 21 July is included.
    assert edition.registration_opens == datetime(2023, 6, 1, 4, tzinfo=UTC)
    assert edition.registration_closes == datetime(2023, 7, 22, 4, tzinfo=UTC)
    assert edition.capacity == 0


def test_local_date_times_and_offset_date_times_are_read_as_instants(app, course_file, load):
    text = EXAMPLE.replace(
        "registration_opens = 2023-06-01", "registration_opens = 2023-06-01T09:30:00"
    ).replace("registration_closes = 2023-07-21", "registration_closes = 2023-07-21T18:00:00-05:00")
    text += "complete_by = 2023-09-30\n"
    assert load(course_file(text)).exit_code == 0
    with app.app_context():
        (edition,) = course().editions
    assert edition.registration_opens == datetime(2023, 6, 1, 13, 30, tzinfo=UTC)
    assert edition.registration_closes == datetime(2023, 7, 21, 23, 0, tzinfo=UTC)
    # 30 September is summer time in Chile (UTC-3) from the first Sunday of September.
    assert edition.complete_by == datetime(2023, 10, 1, 3, tzinfo=UTC)


def test_loading_the_same_file_twice_changes_nothing(app, course_file, load):
    path = course_file()
    assert load(path).exit_code == 0
    with app.app_context():
        before = snapshot()
    again = load(path)
    assert again.exit_code == 0
    assert "ejemplo: unchanged" in again.output
    with app.app_context():
        assert snapshot() == before


def test_a_changed_file_updates_the_course_in_place(app, course_file, load):
    assert load(course_file()).exit_code == 0
    with app.app_context():
        ids = (course().id, [m.id for m in course().modules], [e.id for e in course().editions])
    changed = EXAMPLE.replace('"Curso de ejemplo"', '"Curso renovado"').replace(
        "registration_closes = 2023-07-21", "registration_closes = 2023-07-28"
    )
    changed += '\n[[modules]]\ntitle = "Tres"\n'
    result = load(course_file(changed))
    assert result.exit_code == 0, result.output
    assert "ejemplo: updated" in result.output
    with app.app_context():
        updated = course()
        assert updated.title["es"] == "Curso renovado"
        assert [m.title["es"] for m in updated.modules] == ["Uno", "Dos", "Tres"]
        assert updated.editions[0].registration_closes == datetime(2023, 7, 29, 4, tzinfo=UTC)
        assert ids[0] == updated.id
        assert ids[1] == [m.id for m in updated.modules][:2]
        assert ids[2] == [e.id for e in updated.editions]


def test_editions_absent_from_the_file_are_kept(app, course_file, load):
    two = EXAMPLE + '\n[[editions]]\nslug = "2024"\nregistration_closes = 2024-07-19\n'
    assert load(course_file(two)).exit_code == 0
    assert load(course_file(EXAMPLE)).exit_code == 0
    with app.app_context():
        assert sorted(e.slug for e in course().editions) == ["2023", "2024"]


def _enrol(edition: Edition) -> Enrollment:
    enrollment = Enrollment(
        edition=edition,
        name="Ana Pérez",
        email="ana@example.com",
        email_key="ana@example.com",
        phone="+56912345678",
        country="CL",
        organization="Caleta Tumbes",
        token_salt="s" * 32,
        token_hash="h" * 64,
        consent_at=datetime(2023, 7, 1, tzinfo=UTC),
        privacy_version="2023-06",
    )
    db.session.add(enrollment)
    return enrollment


def test_a_module_nobody_completed_can_be_removed(app, course_file, load):
    three = EXAMPLE + '\n[[modules]]\ntitle = "Tres"\n'
    assert load(course_file(three)).exit_code == 0
    assert load(course_file(EXAMPLE)).exit_code == 0
    with app.app_context():
        assert [m.title["es"] for m in course().modules] == ["Uno", "Dos"]
        assert db.session.scalar(select(db.func.count(Module.id))) == 2


def test_removing_a_completed_module_is_refused_and_nothing_is_written(app, course_file, load):
    three = EXAMPLE + '\n[[modules]]\ntitle = "Tres"\n'
    assert load(course_file(three)).exit_code == 0
    with app.app_context():
        loaded = course()
        enrollment = _enrol(loaded.editions[0])
        completion = ModuleCompletion(
            enrollment=enrollment, module=loaded.modules[2], source="self"
        )
        db.session.add(completion)
        db.session.commit()
        before = snapshot()
    fewer = EXAMPLE.replace('"Curso de ejemplo"', '"Otro título"')
    result = load(course_file(fewer, name="fewer.toml"))
    assert result.exit_code != 0
    assert "fewer.toml: modules: module 3 of 'ejemplo' has completions" in result.stderr
    with app.app_context():
        assert snapshot() == before


# (name of the case, line to replace, replacement, expected key, words of the reason)
REFUSED = [
    (
        "unknown time zone",
        'timezone = "America/Santiago"',
        'timezone = "America/Santago"',
        "timezone",
        "unknown time zone",
    ),
    (
        "date in quotes",
        "registration_closes = 2023-07-21",
        'registration_closes = "21/07/2023"',
        "editions[1].registration_closes",
        "bad date",
    ),
    (
        "impossible date",
        "registration_closes = 2023-07-21",
        "registration_closes = 2023-02-30",
        "registration_closes",
        "not valid TOML",
    ),
    (
        "closes before opens",
        "registration_opens = 2023-06-01",
        "registration_opens = 2023-08-01",
        "editions[1].registration_closes",
        "closes before registration_opens",
    ),
    (
        "complete_by before closes",
        "capacity = 0",
        "capacity = 0\ncomplete_by = 2023-07-01",
        "editions[1].complete_by",
        "is before registration_closes",
    ),
    (
        "missing title",
        'title = { es = "Curso de ejemplo", en = "Example course" }',
        "",
        "title",
        "missing",
    ),
    (
        "title without Spanish",
        'title = { es = "Curso de ejemplo", en = "Example course" }',
        'title = { en = "Example course" }',
        "title",
        "needs the Spanish text",
    ),
    (
        "module without title",
        'title = "Uno"',
        'video_url = "https://example.org/v"',
        "modules[1].title",
        "missing",
    ),
    (
        "duplicate edition slug",
        "capacity = 0",
        'capacity = 0\n[[editions]]\nslug = "2023"\nregistration_closes = 2023-08-01',
        "editions[2].slug",
        "duplicate edition slug '2023'",
    ),
    (
        "unknown country",
        'countries = ["CL", "PE"]',
        'countries = ["CL", "XX"]',
        "countries[2]",
        "unknown country code 'XX'",
    ),
    (
        "lower-case country",
        'countries = ["CL", "PE"]',
        'countries = ["cl", "PE"]',
        "countries[1]",
        "unknown country code 'cl'",
    ),
    (
        "unknown completion rule",
        'completion = "self"',
        'completion = "video"',
        "completion",
        "not one of self, quiz, coordinator",
    ),
    (
        "pass mark over 100",
        'completion = "self"',
        'completion = "self"\npass_mark = 101',
        "pass_mark",
        "out of range",
    ),
    ("negative capacity", "capacity = 0", "capacity = -1", "editions[1].capacity", "out of range"),
    (
        "course slug not URL-safe",
        'slug = "ejemplo"',
        'slug = "Curso Ejemplo"',
        "slug",
        "not URL-safe",
    ),
    (
        "edition slug not URL-safe",
        'slug = "2023"',
        'slug = "2023/1"',
        "editions[1].slug",
        "not URL-safe",
    ),
    (
        "misspelt key",
        "capacity = 0",
        "capacity = 0\nregistration_close = 2023-07-21",
        "editions[1].registration_close",
        "unknown key",
    ),
    (
        "quiz answer out of range",
        'title = "Uno"',
        'title = "Uno"\n[[modules.questions]]\ntext = "¿?"\nchoices = ["a", "b"]\nanswer = 2',
        "modules[1].questions[1].answer",
        "2 is out of range",
    ),
    (
        "quiz course without questions",
        'completion = "self"',
        'completion = "quiz"',
        "modules[1].questions",
        "has none",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_bad_file_is_refused_whole_with_file_key_and_reason(
    app, course_file, load, old, new, key, reason
):
    assert load(BUNDLED).exit_code == 0
    with app.app_context():
        before = snapshot()
    assert old in EXAMPLE
    good = course_file(EXAMPLE.replace('slug = "ejemplo"', 'slug = "otro"'), name="good.toml")
    bad = course_file(EXAMPLE.replace(old, new, 1), name="bad.toml")
    result = load(good, bad)
    assert result.exit_code != 0
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{bad}: {key}: ") and reason in line for line in lines), (
        result.stderr
    )
    assert lines[-1].startswith("Refused: nothing was loaded")
    # Nothing of the load is written: not even the good file given with it.
    with app.app_context():
        assert snapshot() == before
        assert course("otro") is None


def test_the_same_course_slug_in_two_files_of_one_load_is_refused(app, course_file, load):
    first = course_file(name="first.toml")
    second = course_file(EXAMPLE.replace('"Curso de ejemplo"', '"Copia"'), name="second.toml")
    result = load(first, second)
    assert result.exit_code != 0
    assert f"{second}: slug: course 'ejemplo' is also in {first}" in result.stderr
    with app.app_context():
        assert snapshot() == []


def test_a_file_that_does_not_exist_is_refused(app, tmp_path, load):
    result = load(tmp_path / "missing.toml")
    assert result.exit_code != 0
    assert "missing.toml: (file): cannot be read" in result.stderr
    with app.app_context():
        assert snapshot() == []


def test_organizers_may_be_plain_names_or_tables_of_languages(app, course_file, load):
    text = EXAMPLE.replace(
        'countries = ["CL", "PE"]',
        'countries = ["CL", "PE"]\norganizers = ["Future of Fish", '
        '{ es = "Universidad de Concepción", en = "University of Concepción" }]',
    )
    assert load(course_file(text)).exit_code == 0
    with app.app_context():
        assert course().organizers == [
            "Future of Fish",
            {"es": "Universidad de Concepción", "en": "University of Concepción"},
        ]


def test_entries_that_are_not_tables_are_refused_with_the_key_and_table_they_should_be():
    check = Checker("c.toml")
    data = {
        "modules": [{"title": "Uno", "questions": ["¿?", {"text": "¿?", "choices": ["a"]}]}, 3],
        "editions": ["2023"],
        "contacts": "ana@example.org",
    }
    sections.modules(data, check, "quiz")
    sections.editions(data, check, None)
    parse_contacts(data, check, ["CL"])
    sections.modules({"modules": [{"title": "Uno", "questions": "¿?"}]}, check, "self")
    sections.editions({"editions": {"slug": "2023"}}, check, None)
    assert [str(problem) for problem in check.problems] == [
        "c.toml: modules[1].questions[1]: must be a [[modules.questions]] table",
        "c.toml: modules[1].questions[2].choices: needs a list of at least two choices",
        'c.toml: modules[1].questions: completion is "quiz" but this module has none',
        "c.toml: modules[2]: must be a [[modules]] table",
        "c.toml: editions[1]: must be an [[editions]] table",
        "c.toml: contacts: must be [[contacts]] tables",
        "c.toml: modules[1].questions: must be [[modules.questions]] tables",
        "c.toml: editions: must be [[editions]] tables",
    ]
