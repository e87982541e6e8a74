"""Coordinator accounts, their scopes, enrollee states and the audit log.

Every query that reaches enrollees goes through `scoped_enrollments`, so a role's scope is
written once and list, export, import and every action share it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import Select, case, exists, false, func, select
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from courses.catalog.models import Course, Edition
from courses.certificates.models import Certificate, NameCorrection
from courses.coordination.models import ROLES, AuditEntry, Coordinator
from courses.database import utcnow
from courses.extensions import db
from courses.participants.models import ModuleCompletion
from courses.registration.models import WAITING, WITHDRAWN, Enrollment

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200

#: Enrollee states a coordinator sees, in the order a participant goes through them.
STATUSES = (
    "registered",
    "confirmed",
    "in_progress",
    "completed",
    "certified",
    "waiting",
    "withdrawn",
)

# Checked when the e-mail is unknown, so a wrong address costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000", method="scrypt")


class CoordinatorError(ValueError):
    """A coordinator account cannot be created or changed as asked; the message says why."""


# --- audit -------------------------------------------------------------------------------


def record(
    actor: Coordinator | str | None, action: str, target: str | None = None, **details: Any
) -> AuditEntry:
    """Add an audit entry: who (a coordinator, "cli" or "system"), what, on what, details."""
    if isinstance(actor, Coordinator):
        coordinator_id, actor_text = actor.id, actor.email
    else:
        coordinator_id, actor_text = None, actor or "system"
    entry = AuditEntry(
        coordinator_id=coordinator_id,
        actor=actor_text[:254],
        action=action[:60],
        target=target[:120] if target else None,
        details=_jsonable(details),
        at=utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _jsonable(value: Any) -> Any:
    """Details are stored as JSON: dates become ISO text, sets become sorted lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- accounts ----------------------------------------------------------------------------


#: zxcvbn's score (0–4) a password must reach: 3 is "safely unguessable" against an attacker
#: who can try many passwords offline; common passwords, keyboard runs and repeats score 0–2.
MIN_PASSWORD_SCORE = 3
#: Words of this site an attacker would try first.
_SITE_WORDS = ["alianza", "pacifico", "pesca", "acuicultura", "coordinador", "coordinacion"]


def check_password_rules(password: str, email: str = "") -> None:
    """Refuse passwords that are short, absurdly long, common or easily guessed.

    Checked offline with zxcvbn (its bundled lists of common passwords, words, names and
    keyboard patterns), also against the account's address and words of this site.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CoordinatorError(
            _("La contraseña debe tener al menos %(n)s caracteres.", n=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise CoordinatorError(
            _("La contraseña puede tener como máximo %(n)s caracteres.", n=MAX_PASSWORD_LENGTH)
        )
    hints = [*_SITE_WORDS, *filter(None, (email or "").lower().replace(".", "@").split("@"))]
    if zxcvbn(password[:100], user_inputs=hints)["score"] < MIN_PASSWORD_SCORE:
        raise CoordinatorError(
            _(
                "Esa contraseña es común o fácil de adivinar. Usa una frase de varias palabras "
                "que no sea conocida."
            )
        )


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_account_options(
    email: str, role: str, course_slugs: str | Sequence[str] | None, country: str | None
) -> tuple[str, list[Course], str | None]:
    """(normalised e-mail, courses, country code) for a new account; CoordinatorError if wrong."""
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise CoordinatorError(_("El correo %(email)s no es válido.", email=email)) from None
    if role not in ROLES:
        raise CoordinatorError(_("El rol debe ser admin, course o country."))
    if isinstance(course_slugs, str):
        course_slugs = [course_slugs]
    slugs = [slug for slug in dict.fromkeys(course_slugs or []) if slug]
    courses: list[Course] = []
    if role == "course":
        if not slugs:
            raise CoordinatorError(_("El rol course necesita --course con el curso asignado."))
        for slug in slugs:
            course = db.session.scalar(select(Course).where(Course.slug == slug))
            if course is None:
                raise CoordinatorError(_("No existe el curso %(slug)s.", slug=slug))
            courses.append(course)
    elif slugs:
        raise CoordinatorError(_("--course solo se usa con el rol course."))
    code = None
    if role == "country":
        code = (country or "").strip().upper()
        if not code:
            raise CoordinatorError(_("El rol country necesita --country con el código del país."))
        if len(code) != 2 or code not in Locale.parse("es").territories:
            raise CoordinatorError(
                _("%(code)s no es un código de país ISO de dos letras.", code=country)
            )
    elif country:
        raise CoordinatorError(_("--country solo se usa con el rol country."))
    if db.session.scalar(select(Coordinator.id).where(Coordinator.email == address)):
        raise CoordinatorError(_("Ya existe una cuenta con el correo %(email)s.", email=address))
    return address, courses, code


def create_coordinator(
    email: str,
    password: str,
    role: str,
    *,
    course_slug: str | Sequence[str] | None = None,
    country: str | None = None,
    now: datetime,
) -> Coordinator:
    """Create an account after checking every option; raises CoordinatorError with the reason.

    `course_slug` is one slug or several: a course coordinator may follow several courses."""
    address, courses, code = check_account_options(email, role, course_slug, country)
    check_password_rules(password, address)
    coordinator = Coordinator(
        email=address,
        password_hash=hash_password(password),
        role=role,
        courses=courses,
        country=code,
        created_at=now,
    )
    db.session.add(coordinator)
    db.session.flush()
    return coordinator


def authenticate(email: str, password: str) -> Coordinator | None:
    """The active account with this e-mail and password, or None (same cost either way)."""
    address = (email or "").strip().lower()
    coordinator = db.session.scalar(select(Coordinator).where(Coordinator.email == address))
    if coordinator is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(coordinator.password_hash, password or ""):
        return None
    return coordinator if coordinator.active else None


def change_password(coordinator: Coordinator, current: str, new: str) -> None:
    """Set a new password after checking the current one."""
    if not check_password_hash(coordinator.password_hash, current or ""):
        raise CoordinatorError(_("La contraseña actual no es correcta."))
    check_password_rules(new, coordinator.email)
    coordinator.password_hash = hash_password(new)
    db.session.flush()


# --- scopes ------------------------------------------------------------------------------


def can_see_course(coordinator: Coordinator, course: Course) -> bool:
    """Admins and country focal points see every course; course coordinators only theirs."""
    return coordinator.role != "course" or course.id in coordinator.course_ids


def can_manage_edition(coordinator: Coordinator, edition: Edition) -> bool:
    """Changing an edition's dates or capacity affects every country: not for focal points."""
    return coordinator.role == "admin" or (
        coordinator.role == "course" and edition.course_id in coordinator.course_ids
    )


def can_manage_course(coordinator: Coordinator, course: Course) -> bool:
    """Creating an edition of a course: admins and that course's coordinators."""
    return coordinator.role == "admin" or (
        coordinator.role == "course" and course.id in coordinator.course_ids
    )


def manageable_courses(coordinator: Coordinator) -> list[Course]:
    """The courses whose editions this coordinator may create and change."""
    if coordinator.role == "admin":
        return list(db.session.scalars(select(Course).order_by(Course.slug)))
    if coordinator.role == "course":
        return list(coordinator.courses)
    return []


def visible_editions(coordinator: Coordinator) -> list[Edition]:
    """The editions a coordinator may open, newest first within each course."""
    stmt = select(Edition).join(Edition.course).order_by(Course.slug, Edition.id.desc())
    if coordinator.role == "course":
        stmt = stmt.where(Edition.course_id.in_(coordinator.course_ids))
    return list(db.session.scalars(stmt))


def scoped_enrollments(coordinator: Coordinator, edition: Edition) -> Select:
    """The enrollees of `edition` this coordinator may see; nothing at all outside their scope."""
    stmt = select(Enrollment).where(Enrollment.edition_id == edition.id)
    if coordinator.role == "course" and edition.course_id not in coordinator.course_ids:
        stmt = stmt.where(false())
    elif coordinator.role == "country":
        stmt = stmt.where(Enrollment.country == coordinator.country)
    elif coordinator.role not in ROLES:
        stmt = stmt.where(false())
    return stmt


def scoped_enrollment_ids(coordinator: Coordinator, edition: Edition) -> ColumnElement:
    """The ids of `scoped_enrollments`, as a subquery for `… IN (…)`."""
    return (
        scoped_enrollments(coordinator, edition)
        .with_only_columns(Enrollment.id, maintain_column_froms=True)
        .scalar_subquery()
    )


def valid_certificates(coordinator: Coordinator, edition: Edition) -> Iterator[Certificate]:
    """The valid certificates of the edition's enrollees in scope, oldest first, read in
    batches (the ZIP of an edition may hold thousands)."""
    return iter(
        db.session.scalars(
            select(Certificate)
            .where(
                Certificate.enrollment_id.in_(scoped_enrollment_ids(coordinator, edition)),
                Certificate.is_valid,
            )
            .order_by(Certificate.id)
            .execution_options(yield_per=100)
        )
    )


def pending_corrections(coordinator: Coordinator) -> list[NameCorrection]:
    """Undecided name correction requests of every edition in scope, oldest first."""
    stmt = (
        select(NameCorrection)
        .join(Enrollment, NameCorrection.enrollment_id == Enrollment.id)
        .join(Edition, Enrollment.edition_id == Edition.id)
        .where(NameCorrection.decision.is_(None), Enrollment.erased_at.is_(None))
        .order_by(NameCorrection.created_at, NameCorrection.id)
    )
    if coordinator.role == "course":
        stmt = stmt.where(Edition.course_id.in_(coordinator.course_ids))
    elif coordinator.role == "country":
        stmt = stmt.where(Enrollment.country == coordinator.country)
    elif coordinator.role != "admin":
        stmt = stmt.where(false())
    return list(db.session.scalars(stmt))


def db_rows(stmt: Select) -> list:
    """The rows of a select (tuples), for views that must not run SQL themselves."""
    return list(db.session.execute(stmt))


def count_rows(stmt: Select) -> int:
    """How many rows a select matches."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def find_scoped_enrollment(
    coordinator: Coordinator, edition: Edition, enrollment_id: int
) -> Enrollment | None:
    return db.session.scalar(
        scoped_enrollments(coordinator, edition).where(Enrollment.id == enrollment_id)
    )


# --- enrollee states ---------------------------------------------------------------------


def status_expression(
    certified: ColumnElement[bool] | None = None, started: ColumnElement[bool] | None = None
) -> ColumnElement[str]:
    """The enrollee's state as SQL, so filters, counts and exports agree with the list.

    `certified` (has a valid certificate) and `started` (has completed a module) replace the
    EXISTS look-ups in a query that has joined those facts already (the exports)."""
    if certified is None:
        certified = exists().where(Certificate.enrollment_id == Enrollment.id, Certificate.is_valid)
    if started is None:
        started = exists().where(ModuleCompletion.enrollment_id == Enrollment.id)
    return case(
        (Enrollment.status == WAITING, "waiting"),
        (Enrollment.status == WITHDRAWN, "withdrawn"),
        (certified, "certified"),
        (Enrollment.completed_at.is_not(None), "completed"),
        (started, "in_progress"),
        (Enrollment.confirmed_at.is_not(None), "confirmed"),
        else_="registered",
    )


def enrollment_status(enrollment: Enrollment) -> str:
    """registered, confirmed, in_progress, completed, certified or waiting."""
    db.session.flush()
    return db.session.scalar(select(status_expression()).where(Enrollment.id == enrollment.id))


def status_labels() -> dict[str, str]:
    """The states in the coordinator's language."""
    return {
        "registered": _("Inscrito"),
        "confirmed": _("Correo confirmado"),
        "in_progress": _("En curso"),
        "completed": _("Completó"),
        "certified": _("Con certificado"),
        "waiting": _("Lista de espera"),
        "withdrawn": _("Dejó la edición"),
    }


def role_labels() -> dict[str, str]:
    """The roles as coordinators call them."""
    return {
        "admin": _("Administración"),
        "course": _("Coordinación de curso"),
        "country": _("Punto focal de país"),
    }


def source_labels() -> dict[str, str]:
    """Who recorded a completed module, in words."""
    return {
        "self": _("lo marcó la persona"),
        "quiz": _("aprobó el cuestionario"),
        "coordinator": _("lo marcó la coordinación"),
        "import": _("importado"),
    }
