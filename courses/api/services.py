"""What the API reads: editions and enrollments within a coordinator's scope, as documents.

Scope comes from `coordination.services` (the one place each role's reach is written), so a
token sees exactly what its coordinator sees on the coordinator pages and in the exports.
Enrollments are paged by keyset on (updated_at, id): a row that changes while a partner pages
through moves to the end and is read again, so an incremental sync never misses a change.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import and_, or_, select

from courses.api import schemas
from courses.catalog.models import Course, Edition, Module
from courses.certificates.codes import format_code
from courses.certificates.models import Certificate
from courses.certificates.services import certificate_state, verify_url
from courses.coordination import services as scope
from courses.coordination.models import Coordinator
from courses.extensions import db
from courses.participants.models import ModuleCompletion
from courses.registration.models import Enrollment

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
CURSOR = re.compile(schemas.CURSOR_PATTERN)


class BadCursor(ValueError):
    """The cursor was not made by this API (or was altered)."""


def _absolute(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"] + path


def _course_ref(course: Course) -> schemas.CourseRef:
    title = course.title if isinstance(course.title, dict) else {"es": str(course.title)}
    return schemas.CourseRef(
        id=course.id,
        slug=course.slug,
        title=schemas.Localized(es=title.get("es") or "", en=title.get("en")),
    )


def find_edition(coordinator: Coordinator, course_slug: str, edition_slug: str) -> Edition | None:
    """The edition named in the URL if it exists and the coordinator may see its course."""
    edition = db.session.scalar(
        select(Edition)
        .join(Edition.course)
        .where(Course.slug == course_slug, Edition.slug == edition_slug)
    )
    if edition is None or not scope.can_see_course(coordinator, edition.course):
        return None
    return edition


def editions(coordinator: Coordinator, now: datetime) -> schemas.EditionList:
    return schemas.EditionList(
        data=[_edition(edition, now) for edition in scope.visible_editions(coordinator)]
    )


def _edition(edition: Edition, now: datetime) -> schemas.Edition:
    course = edition.course
    path = url_for("api.enrollments", course_slug=course.slug, edition_slug=edition.slug)
    return schemas.Edition(
        id=edition.id,
        slug=edition.slug,
        course=_course_ref(course),
        state=edition.state(now),
        registration_opens=edition.registration_opens,
        registration_closes=edition.registration_closes,
        complete_by=edition.complete_by,
        capacity=edition.capacity,
        modules=len(course.modules),
        timezone=course.timezone,
        enrollments_url=_absolute(path),
    )


# --- enrollments -------------------------------------------------------------------------


def encode_cursor(updated_at: datetime, enrollment_id: int) -> str:
    """Where a page ended: "<microseconds since 1970 of updated_at>-<id>" (opaque to clients)."""
    return f"{(updated_at - EPOCH) // MICROSECOND}-{enrollment_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    match = CURSOR.fullmatch(cursor)
    if match is None:
        raise BadCursor("not a cursor of this API")
    return EPOCH + int(match[1]) * MICROSECOND, int(match[2])


def enrollment_page(
    coordinator: Coordinator, edition: Edition, query: schemas.EnrollmentQuery
) -> schemas.EnrollmentPage:
    """One page of the edition's enrollments in scope, oldest change first. BadCursor if the
    cursor is not one of ours."""
    status = scope.status_expression().label("status")
    stmt = scope.scoped_enrollments(coordinator, edition).add_columns(status)
    if query.country:
        stmt = stmt.where(Enrollment.country == query.country.upper())
    if query.status:
        stmt = stmt.where(status == query.status)
    if query.updated_since:
        stmt = stmt.where(Enrollment.updated_at >= query.updated_since)
    if query.cursor:
        after, after_id = decode_cursor(query.cursor)
        stmt = stmt.where(
            or_(
                Enrollment.updated_at > after,
                and_(Enrollment.updated_at == after, Enrollment.id > after_id),
            )
        )
    stmt = stmt.order_by(Enrollment.updated_at, Enrollment.id).limit(query.limit + 1)
    rows = db.session.execute(stmt).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    documents = _enrollments(edition, rows)
    next_link = None
    if more:
        last = rows[-1][0]
        args = query.model_dump(exclude_none=True, exclude={"cursor"}, mode="json")
        args["cursor"] = encode_cursor(last.updated_at, last.id)
        path = url_for(
            "api.enrollments",
            course_slug=edition.course.slug,
            edition_slug=edition.slug,
            **args,
        )
        next_link = _absolute(path)
    return schemas.EnrollmentPage(data=documents, links=schemas.Links(next=next_link))


def _enrollments(edition: Edition, rows) -> list[schemas.Enrollment]:
    ids = [row[0].id for row in rows]
    done: dict[int, list[schemas.ModuleCompletion]] = defaultdict(list)
    latest: dict[int, Certificate] = {}
    if ids:
        completions = db.session.execute(
            select(
                ModuleCompletion.enrollment_id,
                Module.position,
                ModuleCompletion.completed_at,
                ModuleCompletion.source,
            )
            .join(Module, Module.id == ModuleCompletion.module_id)
            .where(ModuleCompletion.enrollment_id.in_(ids))
            .order_by(ModuleCompletion.enrollment_id, Module.position)
        )
        for enrollment_id, position, completed_at, source in completions:
            done[enrollment_id].append(
                schemas.ModuleCompletion(
                    position=position, completed_at=completed_at, source=source
                )
            )
        certificates = db.session.scalars(
            select(Certificate)
            .where(Certificate.enrollment_id.in_(ids))
            .order_by(Certificate.generation)
        )
        for cert in certificates:
            latest[cert.enrollment_id] = cert  # the highest generation wins
    total = len(edition.course.modules)
    return [
        _enrollment(enrollment, status, done[enrollment.id], latest.get(enrollment.id), total)
        for enrollment, status in rows
    ]


def _enrollment(
    enrollment: Enrollment,
    status: str,
    modules: list[schemas.ModuleCompletion],
    cert: Certificate | None,
    total: int,
) -> schemas.Enrollment:
    erased = enrollment.erased_at is not None
    return schemas.Enrollment(
        id=enrollment.id,
        name=None if erased else enrollment.name,
        email=None if erased else enrollment.email,
        phone=(enrollment.phone or None) if not erased else None,
        country=enrollment.country,
        organization=None if erased else enrollment.organization,
        status=status,
        registered_at=enrollment.created_at,
        confirmed_at=enrollment.confirmed_at,
        completed_at=enrollment.completed_at,
        erased_at=enrollment.erased_at,
        updated_at=enrollment.updated_at,
        progress=schemas.Progress(completed=len(modules), total=total),
        modules=modules,
        certificate=_certificate_ref(cert) if cert is not None else None,
    )


def _certificate_ref(cert: Certificate) -> schemas.CertificateRef:
    return schemas.CertificateRef(
        code=format_code(cert.code),
        state=certificate_state(cert),
        issued_at=cert.issued_at,
        verify_url=verify_url(cert.code),
    )


# --- verification ------------------------------------------------------------------------


def verification(cert: Certificate) -> schemas.Verification:
    """The public answer about a certificate: what /verify/<code> shows, as data."""
    edition = cert.enrollment.edition
    successor = cert.superseded_by
    return schemas.Verification(
        code=format_code(cert.code),
        state=certificate_state(cert),
        holder_name=cert.holder_name,
        course=_course_ref(edition.course),
        edition=edition.slug,
        issued_at=cert.issued_at,
        revoked_at=cert.revoked_at,
        superseded_at=cert.superseded_at,
        superseded_by=format_code(successor.code) if successor else None,
        verify_url=verify_url(cert.code),
    )
