"""Build courses, enrollments and coordinator accounts straight from the models."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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

NOW = datetime(2023, 7, 10, 15, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
_counter = iter(range(1, 10_000_000))


def make_course(
    slug: str = "pesca-acuicultura",
    *,
    completion: str = "self",
    modules: int = 6,
    capacity: int = 0,
    edition_slug: str = "2023",
) -> Edition:
    """A course with `modules` modules and one open edition; returns the edition."""
    course = Course(
        slug=slug,
        title={"es": f"Curso {slug}", "en": f"Course {slug}"},
        timezone="America/Santiago",
        completion=completion,
        countries=["CL", "CO", "MX", "PE"],
        # As if loaded from a course file, so its download page has something to send.
        source_toml=f'slug = "{slug}"\n',
    )
    for position in range(1, modules + 1):
        course.modules.append(Module(position=position, title={"es": f"Módulo {position}"}))
    edition = Edition(
        course=course,
        slug=edition_slug,
        registration_opens=NOW - timedelta(days=30),
        registration_closes=NOW + timedelta(days=11),
        complete_by=NOW + timedelta(days=60),
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
    created_at: datetime | None = None,
) -> Enrollment:
    number = next(_counter)
    email = email or f"persona{number}@example.org"
    salt = new_salt()
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
        locale="es",
        token_salt=salt,
        token_hash=hash_token(token_for(salt)),
        consent_at=NOW,
        privacy_version="2023-06",
        created_at=created_at or NOW - timedelta(days=1, minutes=number % 1000),
        confirmed_at=NOW if confirmed else None,
    )
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


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


def csrf_token(client: FlaskClient, url: str = "/coordinator/login") -> str:
    """The CSRF token of the form on `url` (tests submit forms like a browser)."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client: FlaskClient, coordinator: Coordinator, password: str = PASSWORD) -> None:
    db.session.commit()
    response = client.post(
        "/coordinator/login",
        data={"email": coordinator.email, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def post(client: FlaskClient, url: str, data: dict | None = None, *, form_url: str | None = None):
    """POST with a valid CSRF token taken from a coordinator page."""
    token = csrf_token(client, form_url or "/coordinator/password")
    return client.post(url, data={"csrf_token": token, **(data or {})})


def counts() -> dict[str, int]:
    """Row counts of what coordinator actions may change (to prove a refusal changed nothing)."""
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (ModuleCompletion, Certificate, NameCorrection, OutboxMessage, Enrollment)
    }


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
