"""Every Spanish msgid in the code and templates has an English translation, and pages use it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
#: Python code in courses/; Jinja templates (pages and e-mails) in templates/.
METHODS = {
    "courses": [("**.py", "python")],
    "templates": [
        ("**.html", "jinja2.ext:babel_extract"),
        ("**.txt", "jinja2.ext:babel_extract"),
    ],
}
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}


def extracted_msgids() -> dict[str, list[str]]:
    """msgid → where it is used, for every translatable string in courses/ and templates/."""
    found: dict[str, list[str]] = {}
    for folder, methods in METHODS.items():
        for filename, line, message, _comments, _context in extract_from_dir(
            ROOT / folder, methods, keywords=KEYWORDS
        ):
            messages = message if isinstance(message, tuple) else (message,)
            for msgid in messages:
                if msgid:
                    found.setdefault(msgid, []).append(f"{folder}/{filename}:{line}")
    return found


def english_catalogue() -> dict[str, str]:
    """Every feature's English catalogue, merged (the app merges them the same way)."""
    merged: dict[str, str] = {}
    for path in sorted(ROOT.glob("courses/*/translations/en/LC_MESSAGES/messages.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for msgid, msgstr in zip(ids, strings, strict=False):
                if msgstr and msgstr.strip():
                    merged.setdefault(msgid, msgstr)
    return merged


def test_every_msgid_in_code_and_templates_has_an_english_translation():
    english = english_catalogue()
    missing = {
        msgid: places for msgid, places in extracted_msgids().items() if msgid not in english
    }
    report = "\n".join(f"{places[0]}: {msgid!r}" for msgid, places in sorted(missing.items()))
    assert not missing, f"{len(missing)} msgid(s) without English:\n{report}"


SPANISH_ONLY = (
    "Inscribirme",
    "Módulos",
    "Inscripciones abiertas",
    "Capacitaciones de la",
    "Idioma",
)


def _english_pages(client) -> list[str]:
    pages = []
    for url in ("/", "/courses/pesca-acuicultura?country=PE"):
        response = client.get(url)
        assert response.status_code == 200
        pages.append(response.get_data(as_text=True))
    return pages


def _assert_english(html: str) -> None:
    assert '<html lang="en">' in html
    for spanish in SPANISH_ONLY:
        assert spanish not in html


@pytest.fixture
def open_course(app, runner):
    from tests.catalog.catalog_helpers import BUNDLED

    assert runner.invoke(args=["courses", "load", str(BUNDLED)]).exit_code == 0
    app.config["FIXED_NOW"] = datetime(2023, 7, 10, 12, tzinfo=UTC)


def test_pages_are_in_spanish_by_default(client, open_course):
    home, course = _english_pages(client)
    assert '<html lang="es">' in home and '<html lang="es">' in course
    assert "Inscripciones abiertas hasta el viernes, 21 de julio de 2023, 23:59" in home
    assert "En Perú: viernes, 21 de julio de 2023, 22:59 (hora de Perú)" in course
    assert "Primeros pasos para comercializar" in course


def test_pages_are_fully_english_with_the_language_cookie(client, open_course):
    client.set_cookie("lang", "en")
    home, course = _english_pages(client)
    for html in (home, course):
        _assert_english(html)
    assert "Registration open until Friday, July 21, 2023, 23:59 (Chile time)" in home
    assert "In Peru: Friday, July 21, 2023, 22:59 (Peru time)" in course
    assert "First steps to selling your products" in course
    assert "Sales" in course and "Universidad de Concepción" in course
    assert ">Register</a>" in course


def test_pages_are_fully_english_with_accept_language(client, open_course):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    home, course = _english_pages(client)
    for html in (home, course):
        _assert_english(html)
    assert "Pacific Alliance Fisheries and Aquaculture Training Cycle" in home
