"""Build courses, editions and enrollments straight from the models, for participant tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from courses.catalog.models import Course, Edition, Module
from courses.extensions import db
from courses.registration.models import REGISTERED, WAITING, Enrollment
from courses.registration.tokens import hash_token, new_salt, token_for

NOW = datetime(2023, 7, 10, 15, 0, tzinfo=UTC)
ACCENTED_NAME = "Ñandú Ólafsdóttir-Łukasz O'Brien"

MODULE_TITLES = [
    "Primeros pasos para comercializar",
    "¿Cómo montar una unidad comercial?",
    "Inocuidad y calidad",
    "Ventas",
    "E-commerce y marketing digital",
    "Barreras y oportunidades cuando se piensa exportar",
]


def _questions(position: int) -> list[dict]:
    # Three questions per module; the right answer is always choice `position % 3`.
    return [
        {
            "text": {"es": f"Pregunta {q} del módulo {position}", "en": f"Question {q}"},
            "choices": [{"es": f"Opción {c}", "en": f"Choice {c}"} for c in range(3)],
            "answer": position % 3,
        }
        for q in range(1, 4)
    ]


def make_course(
    *,
    completion: str = "self",
    slug: str = "pesca-acuicultura",
    pass_mark: int = 70,
    complete_by: datetime | None = None,
    capacity: int = 0,
) -> Edition:
    """A course with the six reference modules and one open edition ("2023")."""
    course = Course(
        slug=slug,
        title={
            "es": "Ciclo de capacitaciones para Pesca y Acuicultura",
            "en": "Training cycle for Fisheries and Aquaculture",
        },
        description={"es": "Curso asíncrono.", "en": "Asynchronous course."},
        organizers=[
            "Grupo Técnico de Pesca y Acuicultura",
            "Future of Fish",
            "Universidad de Concepción",
        ],
        channel_url="https://www.youtube.com/@AlianzadelPacificoOficial/videos",
        timezone="America/Santiago",
        completion=completion,
        pass_mark=pass_mark,
        countries=["CL", "CO", "MX", "PE"],
    )
    for position, title in enumerate(MODULE_TITLES, 1):
        course.modules.append(
            Module(
                position=position,
                title={"es": title, "en": f"Module {position}"},
                description={"es": f"Descripción del módulo {position}."},
                video_url=(
                    "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
                    if position == 1
                    else "https://www.youtube.com/@AlianzadelPacificoOficial/videos"
                ),
                minutes=30,
                questions=_questions(position),
            )
        )
    edition = Edition(
        course=course,
        slug="2023",
        registration_opens=datetime(2023, 6, 1, 4, 0, tzinfo=UTC),
        registration_closes=datetime(2023, 7, 22, 4, 0, tzinfo=UTC),
        complete_by=complete_by,
        capacity=capacity,
    )
    db.session.add_all([course, edition])
    db.session.commit()
    return edition


def enroll(
    edition: Edition,
    *,
    name: str = ACCENTED_NAME,
    email: str = "nandu@example.org",
    waiting: bool = False,
    locale: str = "es",
) -> tuple[Enrollment, str]:
    """An enrollment and its personal-link token."""
    salt = new_salt()
    token = token_for(salt)
    seat_count = sum(1 for e in edition.enrollments if e.status == REGISTERED)
    enrollment = Enrollment(
        edition=edition,
        name=name,
        email=email,
        email_key=email.lower(),
        phone="+56912345678",
        country="CL",
        organization="Sindicato de Pescadores de Lota",
        status=WAITING if waiting else REGISTERED,
        seat=None if waiting or not edition.capacity else seat_count + 1,
        locale=locale,
        token_salt=salt,
        token_hash=hash_token(token),
        consent_at=NOW - timedelta(days=1),
        privacy_version="2023-06",
        created_at=NOW - timedelta(days=1),
    )
    db.session.add(enrollment)
    db.session.commit()
    return enrollment, token


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)
