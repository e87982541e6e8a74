"""Whom a participant can ask for help: the course file's `[[contacts]]`, as plain values.

Pages and e-mails show the contacts of the participant's country; a page that does not know
the country yet (the course page, `/my/lost`) shows every country's, each with its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from courses.catalog.lines import CourseLines
from courses.catalog.models import Course
from courses.extensions import db
from courses.i18n import country_name, localized


@dataclass(frozen=True)
class Contact:
    country: str
    country_name: str
    name: str
    email: str | None
    whatsapp: str | None
    #: https://wa.me/<digits>: opens a chat with that number in WhatsApp (or its web page).
    whatsapp_url: str | None


def whatsapp_url(number: str | None) -> str | None:
    """`https://wa.me/<digits>` for an E.164 number (wa.me wants the digits only)."""
    if not number:
        return None
    return "https://wa.me/" + re.sub(r"\D", "", number)


def _contact(raw: dict, language: str) -> Contact:
    return Contact(
        country=raw["country"],
        country_name=country_name(raw["country"], language),
        name=localized(raw.get("name"), language),
        email=raw.get("email"),
        whatsapp=raw.get("whatsapp"),
        whatsapp_url=whatsapp_url(raw.get("whatsapp")),
    )


def course_contacts(
    course: Course | CourseLines, language: str, country: str | None = None
) -> list[Contact]:
    """The course's contacts for `country` (every country's when None), in file order."""
    return [
        _contact(raw, language)
        for raw in course.contacts or []
        if country is None or raw.get("country") == country
    ]


def all_contacts(language: str, country: str | None = None) -> list[Contact]:
    """Every course's contacts (for `country` when given), each person once."""
    seen: set[tuple] = set()
    found = []
    for course in db.session.scalars(select(Course).order_by(Course.slug)):
        for contact in course_contacts(course, language, country):
            key = (contact.country, contact.name, contact.email, contact.whatsapp)
            if key not in seen:
                seen.add(key)
                found.append(contact)
    return sorted(found, key=lambda c: c.country_name)
