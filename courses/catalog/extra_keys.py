"""The course file's optional `[[contacts]]` and `[[questions]]`, checked like every other key.

Kept apart from loader.py (which reads the rest of the file) so each stays short; the checker
passed in (`checker.Checker`) collects "KEY: REASON" problems instead of stopping at the first.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from courses.catalog.checker import Checker

CONTACT_KEYS = {"country", "name", "email", "whatsapp"}
QUESTION_KEYS = {"key", "label", "kind", "choices", "required"}
QUESTION_KINDS = ("choice", "text")
#: A question's key is also a form field name (`q_<key>`) and an export column header.
QUESTION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def parse_contacts(data: dict, check: Checker, countries: list) -> list[dict]:
    """[[contacts]]: country (one of the course's), name, and an e-mail and/or a WhatsApp."""
    contacts = []
    for path, table in check.tables(data, "contacts"):
        check.unknown_keys(table, CONTACT_KEYS, f"{path}.")
        country = table.get("country")
        if country is None:
            check.fail(f"{path}.country", "missing; it is required")
        elif not isinstance(country, str) or country not in countries:
            check.fail(
                f"{path}.country",
                f"{country!r} is not one of the course's countries ({', '.join(countries)})",
            )
        name = check.text(table, "name", f"{path}.name", required=True)
        for language, words in name.items():
            name[language] = check.name(words, f"{path}.name.{language}")
        email = _email(table.get("email"), f"{path}.email", check)
        whatsapp = _whatsapp(table.get("whatsapp"), f"{path}.whatsapp", check)
        if "email" not in table and "whatsapp" not in table:
            check.fail(path, "needs an email, a whatsapp number or both")
        contacts.append({"country": country, "name": name, "email": email, "whatsapp": whatsapp})
    return contacts


def _email(value: object, path: str, check: Checker) -> str | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise EmailNotValidError("not text")
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        check.fail(path, f"{value!r} is not an e-mail address")
        return None


def _whatsapp(value: object, path: str, check: Checker) -> str | None:
    if value is None:
        return None
    reason = "must be a phone number in E.164 form, such as +51987654321"
    if not isinstance(value, str) or not E164.match(value):
        check.fail(path, reason)
        return None
    if not phonenumbers.is_valid_number(phonenumbers.parse(value, None)):
        check.fail(path, f"{value} is not a valid phone number")
        return None
    return value


def parse_questions(data: dict, check: Checker) -> list[dict]:
    """[[questions]]: key, label, kind ("choice" with two or more choices, or "text")."""
    questions = []
    seen: set[str] = set()
    for path, table in check.tables(data, "questions"):
        check.unknown_keys(table, QUESTION_KEYS, f"{path}.")
        key = table.get("key")
        if key is None:
            check.fail(f"{path}.key", "missing; it is required")
        elif not isinstance(key, str) or not QUESTION_KEY.match(key):
            check.fail(
                f"{path}.key",
                f"{key!r} must start with a lower-case letter and use only a-z, 0-9 and _ "
                "(at most 40)",
            )
        elif key in seen:
            check.fail(f"{path}.key", f"duplicate question key {key!r}")
        seen.add(str(key))
        label = check.text(table, "label", f"{path}.label", required=True)
        kind = table.get("kind")
        if kind not in QUESTION_KINDS:
            check.fail(f"{path}.kind", f"{kind!r} is not one of choice, text")
        choices: list[dict] = []
        if kind == "choice":
            choices = check.choices(table, path) or []
        elif table.get("choices") is not None:
            check.fail(f"{path}.choices", 'only a question of kind = "choice" has choices')
        required = table.get("required", False)
        if not isinstance(required, bool):
            check.fail(f"{path}.required", "must be true or false")
        questions.append(
            {"key": key, "label": label, "kind": kind, "choices": choices, "required": required}
        )
    return questions
