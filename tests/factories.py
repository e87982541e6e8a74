"""Build what tests need straight from the models, and go through the site as a visitor would.

One place for every test's courses, editions, enrollments, certificates and coordinator
accounts. The builders and the database read-backs work inside an application context that
the test opens itself (`with app.app_context():`), as the Flask tutorial's tests do: requests
made with the test client run in contexts of their own, so a missing commit shows.
Builders flush (ids are set) and leave the commit to the caller, except where they say.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from courses.catalog.models import Course, Edition, Module
from courses.certificates.models import Certificate, NameCorrection
from courses.coordination.models import AuditEntry, Coordinator
from courses.coordination.services import hash_password
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.models import ModuleCompletion
from courses.registration.models import REGISTERED, WAITING, Enrollment
from courses.registration.tokens import hash_token, new_salt, token_for

SANTIAGO = ZoneInfo("America/Santiago")
#: An instant while registrations are open (the 2023 cycle: 1 June to Friday 21 July inclusive,
#: Santiago time).
NOW = OPEN_NOW = datetime(2023, 7, 10, 15, 0, tzinfo=UTC)
OPENS = datetime(2023, 6, 1, tzinfo=SANTIAGO)
CLOSES = datetime(2023, 7, 22, tzinfo=SANTIAGO)
PASSWORD = "correct horse battery"
ACCENTED_NAME = "Ñandú Ólafsdóttir-Łukasz O'Brien"

REFERENCE_SLUG = "pesca-acuicultura"
REFERENCE_TITLE = {
    "es": "Ciclo de capacitaciones para Pesca y Acuicultura",
    "en": "Training cycle for Fisheries and Aquaculture",
}
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
#: The registration form filled in as the reference participant would.
VALID = {
    "name": "María José Ñúñez-O'Higgins",
    "email": "maria@example.org",
    "phone": "9 6123 4567",
    "country": "CL",
    "organization": "Sindicato de Pescadores de Tomé",
    "consent": "y",
}

#: An edition's dates counted from NOW, for pages that show how long is left: registration
#: opened 30 days before NOW and closes 11 days after it; completion is due 60 days after it.
#: `make_course(**COUNTED_FROM_NOW)`.
COUNTED_FROM_NOW = {
    "opens": NOW - timedelta(days=30),
    "closes": NOW + timedelta(days=11),
    "complete_by": NOW + timedelta(days=60),
}

_counter = iter(range(1, 10_000_000))


def numbered_modules(count: int) -> list[str]:
    """Module titles "Módulo 1" … "Módulo <count>", for `make_course(module_titles=...)`."""
    return [f"Módulo {n}" for n in range(1, count + 1)]


def slug_title(slug: str) -> dict[str, str]:
    """A title made from the slug ("Curso <slug>" / "Course <slug>"), for pages that name
    several courses and tests that tell them apart by it: `make_course(slug, title=...)`."""
    return {"es": f"Curso {slug}", "en": f"Course {slug}"}


def quiz(position: int) -> list[dict]:
    """Three questions for module `position`; the right answer is always choice `position % 3`."""
    return [
        {
            "text": {"es": f"Pregunta {q} del módulo {position}", "en": f"Question {q}"},
            "choices": [{"es": f"Opción {c}", "en": f"Choice {c}"} for c in range(3)],
            "answer": position % 3,
        }
        for q in range(1, 4)
    ]


def make_course(
    slug: str = REFERENCE_SLUG,
    *,
    title: dict | None = None,
    completion: str = "self",
    pass_mark: int = 70,
    modules: int = 6,
    capacity: int = 0,
    edition_slug: str = "2023",
    opens: datetime = OPENS,
    closes: datetime = CLOSES,
    complete_by: datetime | None = None,
    source_toml: str | None = None,
    module_titles: list[str] | None = None,
) -> Edition:
    """A course with `modules` of the reference modules (30 minutes each, three quiz questions)
    and one edition, open at NOW; returns the edition (flushed, not committed).

    `module_titles` replaces the modules' Spanish titles (by default the reference ones, then
    "Módulo N"), e.g. `numbered_modules(6)` where a test reads the titles back (exports)."""
    course = Course(
        slug=slug,
        title=title or REFERENCE_TITLE,
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
        source_toml=source_toml,
    )
    for position in range(1, modules + 1):
        if module_titles is not None:
            title_es = module_titles[position - 1]
        elif position <= 6:
            title_es = MODULE_TITLES[position - 1]
        else:
            title_es = f"Módulo {position}"
        course.modules.append(
            Module(
                position=position,
                title={"es": title_es, "en": f"Module {position}"},
                description={"es": f"Descripción del módulo {position}."},
                video_url=(
                    "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
                    if position == 1
                    else "https://www.youtube.com/@AlianzadelPacificoOficial/videos"
                ),
                minutes=30,
                questions=quiz(position),
            )
        )
    edition = Edition(
        course=course,
        slug=edition_slug,
        registration_opens=opens,
        registration_closes=closes,
        complete_by=complete_by,
        capacity=capacity,
    )
    db.session.add_all([course, edition])
    db.session.flush()
    return edition


def make_enrollment(
    edition: Edition,
    name: str = "Ana Pérez",
    *,
    email: str | None = None,
    country: str = "CL",
    organization: str = "Caleta Sur",
    phone: str = "+56912345678",
    waiting: bool = False,
    seat: int | None = None,
    confirmed: bool = False,
    locale: str = "es",
    created_at: datetime | None = None,
    salt: bytes | None = None,
) -> Enrollment:
    """An enrollment of `edition` (flushed); its link is `token_for(enrollment.token_salt)`."""
    number = next(_counter)
    email = email or f"persona{number}@example.org"
    salt = salt or new_salt()
    enrollment = Enrollment(
        edition_id=edition.id,
        name=name,
        email=email,
        email_key=email.lower(),
        phone=phone,
        country=country,
        organization=organization,
        status=WAITING if waiting else REGISTERED,
        seat=seat,
        locale=locale,
        token_salt=salt,
        token_hash=hash_token(token_for(salt)),
        consent_at=NOW - timedelta(days=1),
        privacy_version="2023-06",
        created_at=created_at or NOW - timedelta(days=1, minutes=number % 1000),
        confirmed_at=NOW if confirmed else None,
    )
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


def enroll(edition: Edition, **fields) -> tuple[Enrollment, str]:
    """A committed enrollment (seated when the edition has seats) and its personal-link token."""
    fields.setdefault("name", ACCENTED_NAME)
    fields.setdefault("email", "nandu@example.org")
    fields.setdefault("organization", "Sindicato de Pescadores de Lota")
    if edition.capacity and not fields.get("waiting") and "seat" not in fields:
        taken = db.session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(Enrollment.edition_id == edition.id, Enrollment.status == REGISTERED)
        )
        fields["seat"] = taken + 1
    salt = new_salt()
    enrollment = make_enrollment(edition, salt=salt, **fields)
    db.session.commit()
    return enrollment, token_for(salt)


def complete(enrollment: Enrollment, *positions: int) -> None:
    """Record completions directly (no certificate logic)."""
    modules = {m.position: m for m in enrollment.edition.course.modules}
    for position in positions:
        db.session.add(
            ModuleCompletion(
                enrollment_id=enrollment.id,
                module_id=modules[position].id,
                source="self",
                completed_at=NOW,
            )
        )
    db.session.flush()


def make_certificate(enrollment: Enrollment, code: str = "ABCDE23456", **fields) -> Certificate:
    cert = Certificate(
        enrollment_id=enrollment.id,
        generation=fields.pop("generation", 1),
        code=code,
        holder_name=enrollment.name,
        issued_at=NOW,
        **fields,
    )
    enrollment.completed_at = NOW
    db.session.add(cert)
    db.session.flush()
    return cert


def make_correction(enrollment: Enrollment, name: str) -> NameCorrection:
    correction = NameCorrection(enrollment_id=enrollment.id, requested_name=name, created_at=NOW)
    db.session.add(correction)
    db.session.flush()
    return correction


def make_coordinator(
    role: str = "admin",
    *,
    email: str | None = None,
    course: Course | None = None,
    courses: list[Course] | None = None,
    country: str | None = None,
    password: str = PASSWORD,
) -> Coordinator:
    coordinator = Coordinator(
        email=email or f"{role}{next(_counter)}@coordinacion.org",
        password_hash=hash_password(password),
        role=role,
        courses=[*(courses or []), *([course] if course else [])],
        country=country,
        created_at=NOW,
    )
    db.session.add(coordinator)
    db.session.flush()
    return coordinator


# --- Through the site, as a visitor -----------------------------------------------------------


def csrf_in(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf_token(client: FlaskClient, url: str = FORM_URL) -> str:
    """Open `url` like a browser and read its form's CSRF token."""
    return csrf_in(client.get(url).get_data(as_text=True))


def submit(client: FlaskClient, **changes):
    """Open the registration form, then send it with VALID values changed by `changes`
    (None drops a field)."""
    data = {**VALID, "csrf_token": csrf_token(client)}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    response = client.post(FORM_URL, data=data)
    response.close()
    return response


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    """Sign in as the coordinator with this e-mail."""
    response = client.post(
        "/coordinator/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_token(client, "/coordinator/login"),
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def login_new(app: Flask, client: FlaskClient, role: str = "admin", **fields) -> str:
    """Create a coordinator (`make_coordinator(role, **fields)`, committed in a context of its
    own) and sign in as them, outside any context; returns their e-mail."""
    with app.app_context():
        email = make_coordinator(role, **fields).email
        db.session.commit()
    login(client, email)
    return email


def post(client: FlaskClient, url: str, data: dict | None = None, *, form_url: str | None = None):
    """POST with a valid CSRF token taken from a coordinator page."""
    token = csrf_token(client, form_url or "/coordinator/password")
    return client.post(url, data={"csrf_token": token, **(data or {})})


def link_in(text: str) -> str:
    """The personal link in a message body."""
    match = re.search(r"http://certificados\.test/my/[A-Za-z0-9_-]+", text)
    assert match, text
    return match.group(0)


# --- Reading the database back (inside the test's own application context) -------------------


def counts() -> tuple[int, int]:
    """(enrollments, outbox messages) in the database."""
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Enrollment)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def row_counts() -> dict[str, int]:
    """Row counts of what coordinator actions may change (to prove a refusal changed nothing)."""
    db.session.expire_all()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (ModuleCompletion, Certificate, NameCorrection, OutboxMessage, Enrollment)
    }


def messages() -> list[OutboxMessage]:
    """Every outbox message, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def enrollments() -> list[Enrollment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Enrollment).order_by(Enrollment.id)))


def audit_actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
