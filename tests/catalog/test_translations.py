"""Every Spanish msgid in the code and templates has an English translation, and pages use it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [
    ("**.py", "python"),
    ("**.html", "jinja2.ext:babel_extract"),
    ("**.txt", "jinja2.ext:babel_extract"),
]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}


def extracted_msgids() -> dict[str, list[str]]:
    """msgid → where it is used, for every translatable string in courses/ and templates/."""
    found: dict[str, list[str]] = {}
    for folder in ("courses", "templates"):
        for filename, line, message, _comments, _context in extract_from_dir(
            ROOT / folder, METHODS, keywords=KEYWORDS
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
