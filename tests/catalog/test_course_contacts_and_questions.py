"""`[[contacts]]` and `[[questions]]` in course files: checked like every key, stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from courses.catalog.models import Course
from courses.extensions import db
from tests.catalog.catalog_helpers import EXAMPLE, snapshot

CONTACTS = """
[[contacts]]
country = "PE"
name = { es = "Punto focal de Perú", en = "Peru focal point" }
email = "pesca.pe@example.org"
whatsapp = "+51987654321"

[[contacts]]
country = "CL"
name = "Mesa de ayuda Chile"
email = "ayuda.cl@example.org"
"""

QUESTIONS = """
[[questions]]
key = "gender"
label = { es = "Género", en = "Gender" }
kind = "choice"
choices = [ { es = "Mujer", en = "Woman" }, { es = "Hombre", en = "Man" },
            { es = "Otro", en = "Other" },
            { es = "Prefiero no decirlo", en = "Prefer not to say" } ]
required = false

[[questions]]
key = "boat"
label = "Nombre de tu embarcación"
kind = "text"
"""


def course() -> Course:
    db.session.expire_all()
    return db.session.scalar(select(Course).where(Course.slug == "ejemplo"))


def test_contacts_and_questions_are_loaded_and_stored(app, course_file, load):
    result = load(course_file(EXAMPLE + CONTACTS + QUESTIONS))
    assert result.exit_code == 0, result.output
    with app.app_context():
        loaded = course()
        assert loaded.contacts == [
            {
                "country": "PE",
                "name": {"es": "Punto focal de Perú", "en": "Peru focal point"},
                "email": "pesca.pe@example.org",
                "whatsapp": "+51987654321",
            },
            {
                "country": "CL",
                "name": {"es": "Mesa de ayuda Chile"},
                "email": "ayuda.cl@example.org",
                "whatsapp": None,
            },
        ]
        gender, boat = loaded.questions
        assert gender["key"] == "gender" and gender["kind"] == "choice"
        assert gender["choices"][3] == {"es": "Prefiero no decirlo", "en": "Prefer not to say"}
        assert gender["required"] is False
        assert boat == {
            "key": "boat",
            "label": {"es": "Nombre de tu embarcación"},
            "kind": "text",
            "choices": [],
            "required": False,
        }
    # Loading again without them removes them: the file is the truth.
    assert load(course_file(EXAMPLE)).exit_code == 0
    with app.app_context():
        assert course().contacts == [] and course().questions == []


BAD = [
    ('country = "PE"', 'country = "BR"', "contacts[1].country", "not one of the course's"),
    ('email = "pesca.pe@example.org"', 'email = "pesca.pe@"', "contacts[1].email", "not an e-mail"),
    ('whatsapp = "+51987654321"', 'whatsapp = "987 654 321"', "contacts[1].whatsapp", "E.164"),
    ('whatsapp = "+51987654321"', 'whatsapp = "+5100"', "contacts[1].whatsapp", "E.164"),
    (
        'email = "ayuda.cl@example.org"',
        'phone = "+56912345678"',
        "contacts[2].phone",
        "unknown key",
    ),
    ('name = "Mesa de ayuda Chile"', "", "contacts[2].name", "required"),
    (
        'name = "Mesa de ayuda Chile"',
        'name = "Mesa \\u202eChile"',
        "contacts[2].name.es",
        "bidirectional",
    ),
    ('key = "gender"', 'key = "Género"', "questions[1].key", "lower-case letter"),
    ('key = "boat"', 'key = "gender"', "questions[2].key", "duplicate"),
    ('kind = "choice"', 'kind = "multiple"', "questions[1].kind", "not one of choice, text"),
    ('kind = "text"', 'kind = "text"\nchoices = ["a", "b"]', "questions[2].choices", "only a"),
    ("required = false", 'required = "no"', "questions[1].required", "true or false"),
    ('label = "Nombre de tu embarcación"', "", "questions[2].label", "required"),
]


@pytest.mark.parametrize(("old", "new", "key", "reason"), BAD, ids=[b[2] + b[3] for b in BAD])
def test_a_bad_contact_or_question_is_refused_with_file_key_and_reason(
    app, course_file, load, old, new, key, reason
):
    assert load(course_file(EXAMPLE)).exit_code == 0
    with app.app_context():
        before = snapshot()
        stored = (course().contacts, course().questions)
    text = (EXAMPLE + CONTACTS + QUESTIONS).replace(old, new, 1)
    result = load(course_file(text, name="bad.toml"))
    assert result.exit_code != 0
    assert f"bad.toml: {key}: " in result.stderr and reason in result.stderr, result.stderr
    with app.app_context():
        assert snapshot() == before
        assert (course().contacts, course().questions) == stored


def test_a_contact_without_email_or_whatsapp_is_refused(app, course_file, load):
    text = EXAMPLE + '\n[[contacts]]\ncountry = "CL"\nname = "Alguien"\n'
    result = load(course_file(text, name="bad.toml"))
    assert result.exit_code != 0
    assert "bad.toml: contacts[1]: needs an email, a whatsapp number or both" in result.stderr
    with app.app_context():
        assert course() is None


def test_a_choice_question_needs_two_choices(app, course_file, load):
    text = EXAMPLE + '\n[[questions]]\nkey = "x"\nlabel = "X"\nkind = "choice"\nchoices = ["a"]\n'
    result = load(course_file(text, name="bad.toml"))
    assert "bad.toml: questions[1].choices: needs a list of at least two choices" in result.stderr
    with app.app_context():
        assert course() is None
