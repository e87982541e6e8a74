"""Courses and editions built straight from the models, and a user's way through the form."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import g
from sqlalchemy import func, select

from courses.catalog.models import Course, Edition, Module
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.registration.models import Enrollment

SANTIAGO = ZoneInfo("America/Santiago")
#: The 2023 cycle: open from 1 June, until Friday 21 July 2023 inclusive, Santiago time.
OPENS = datetime(2023, 6, 1, tzinfo=SANTIAGO)
CLOSES = datetime(2023, 7, 22, tzinfo=SANTIAGO)
#: An instant while registrations are open.
OPEN_NOW = datetime(2023, 7, 10, 15, 0, tzinfo=UTC)

MODULE_TITLES = [
    "Primeros pasos para comercializar",
    "¿Cómo montar una unidad comercial?",
    "Inocuidad y calidad",
    "Ventas",
    "E-commerce y marketing digital",
    "Barreras y oportunidades cuando se piensa exportar",
]

FORM_URL = "/courses/pesca-acuicultura/2023/register"
DONE_URL = "/courses/pesca-acuicultura/2023/registered"

VALID = {
    "name": "María José Ñúñez-O'Higgins",
    "email": "maria@example.org",
    "phone": "9 6123 4567",
    "country": "CL",
    "organization": "Sindicato de Pescadores de Tomé",
    "consent": "y",
}


def make_edition(
    *,
    capacity: int = 0,
    completion: str = "self",
    complete_by: datetime | None = None,
    slug: str = "pesca-acuicultura",
) -> Edition:
    """The reference course (six modules, CL/CO/MX/PE, Santiago time) with its 2023 edition."""
    course = Course(
        slug=slug,
        title={
            "es": "Ciclo de capacitaciones para Pesca y Acuicultura",
            "en": "Training cycle for Fisheries and Aquaculture",
        },
        organizers=["Grupo Técnico de Pesca y Acuicultura", "Future of Fish"],
        channel_url="https://www.youtube.com/@AlianzadelPacificoOficial/videos",
        timezone="America/Santiago",
        completion=completion,
        pass_mark=70,
        countries=["CL", "CO", "MX", "PE"],
    )
    for position, title in enumerate(MODULE_TITLES, 1):
        course.modules.append(
            Module(position=position, title={"es": title, "en": f"Module {position} (en)"})
        )
    edition = Edition(
        course=course,
        slug="2023",
        registration_opens=OPENS,
        registration_closes=CLOSES,
        complete_by=complete_by,
        capacity=capacity,
    )
    db.session.add(course)
    db.session.commit()
    return edition


def csrf_token(client, url: str = FORM_URL) -> str:
    """Open the form like a browser and read its CSRF token."""
    # Requests share the test's application context, where Flask-WTF caches the token of the
    # last session in `g`; a second visitor must get a token of its own.
    g.pop("csrf_token", None)
    page = client.get(url)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert match, "the form has a csrf_token field"
    return match.group(1)


def submit(client, **changes):
    """Open the form, then send it with VALID values changed by `changes` (None drops one)."""
    data = {**VALID, "csrf_token": csrf_token(client)}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    response = client.post(FORM_URL, data=data)
    response.close()
    return response


def counts() -> tuple[int, int]:
    """(enrollments, outbox messages) in the database."""
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Enrollment)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def messages() -> list[OutboxMessage]:
    """Every outbox message, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def enrollments() -> list[Enrollment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Enrollment).order_by(Enrollment.id)))


def link_in(text: str) -> str:
    """The personal link in a message body."""
    match = re.search(r"http://certificados\.test/my/[A-Za-z0-9_-]+", text)
    assert match, text
    return match.group(0)
