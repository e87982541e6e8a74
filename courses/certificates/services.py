"""Issuing, revoking and reissuing certificates; name corrections; verification look-ups.

Functions only `flush()`; the request (or the CLI command) commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import ScalarSelect, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from courses.api import webhooks
from courses.catalog.contacts import course_contacts
from courses.catalog.models import Course
from courses.certificates import codes
from courses.certificates.content import verify_url
from courses.certificates.credentials import STATUS_LIST_SIZE
from courses.certificates.models import Certificate, NameCorrection
from courses.extensions import db
from courses.i18n import localized
from courses.mail.services import queue_email
from courses.registration import rules
from courses.registration.models import Enrollment
from courses.registration.tokens import personal_link, token_for

#: Attempts to draw a code not used yet (a clash is about 1 in 10^13; this is belt and braces).
CODE_ATTEMPTS = 5


class CertificateError(Exception):
    """A certificate operation that the rules refuse; `message` is for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current_certificate_id(enrollment_id) -> ScalarSelect:
    """SQL for the id of the enrollment's current certificate: its latest (highest generation),
    revoked or not. `enrollment_id` is a column or a bound parameter; the one rule of
    `current_certificate`, for statements that read an enrollment as plain values."""
    return (
        select(Certificate.id)
        .where(Certificate.enrollment_id == enrollment_id)
        .order_by(Certificate.generation.desc())
        .limit(1)
        .scalar_subquery()
    )


# Built once (the personal page asks on every visit): a statement keeps its cache key.
_LATEST = select(Certificate).where(
    Certificate.id == current_certificate_id(bindparam("enrollment"))
)
_PENDING_CORRECTION = (
    select(NameCorrection)
    .where(
        NameCorrection.enrollment_id == bindparam("enrollment"),
        NameCorrection.decision.is_(None),
    )
    .order_by(NameCorrection.id.desc())
    .limit(1)
)


def current_certificate(enrollment: Enrollment) -> Certificate | None:
    """The enrollment's latest certificate (highest generation), revoked or not."""
    return db.session.scalars(_LATEST, {"enrollment": enrollment.id}).first()


def _insert(enrollment: Enrollment, generation: int, holder_name: str, now: datetime):
    """Insert one certificate in a SAVEPOINT; None when (enrollment, generation) exists already."""
    for _attempt in range(CODE_ATTEMPTS):
        cert = Certificate(
            enrollment_id=enrollment.id,
            generation=generation,
            code=codes.new_code(),
            holder_name=holder_name,
            issued_at=now,
        )
        try:
            # The unique (enrollment_id, generation) constraint is the guard against a double
            # submit; the savepoint keeps the rest of the request's work when it fires.
            with db.session.begin_nested():
                db.session.add(cert)
        except IntegrityError:
            if _generation_exists(enrollment, generation):
                return None
            continue  # the random code clashed with another certificate's: draw again
        return cert
    raise RuntimeError("could not draw an unused certificate code")


def _generation_exists(enrollment: Enrollment, generation: int) -> bool:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Certificate)
            .where(
                Certificate.enrollment_id == enrollment.id,
                Certificate.generation == generation,
            )
        )
        > 0
    )


def issue_certificate(enrollment: Enrollment, now: datetime) -> Certificate:
    """Issue the enrollment's certificate exactly once; return the existing one if any."""
    cert = _insert(enrollment, 1, enrollment.name, now)
    if cert is None:
        existing = current_certificate(enrollment)
        assert existing is not None
        return existing
    queue_ready_mail(cert, now)
    webhooks.emit("certificate.issued", cert.enrollment, now, certificate=cert)
    return cert


def revoke_certificate(cert: Certificate, reason: str | None, now: datetime) -> None:
    """Mark a certificate revoked (idempotent: the first revocation's date stays)."""
    if cert.revoked_at is None:
        cert.revoked_at = now
        cert.revoke_reason = (reason or "").strip() or None
        db.session.flush()
        webhooks.emit("certificate.revoked", cert.enrollment, now, certificate=cert)


def reissue_certificate(enrollment: Enrollment, new_name: str, now: datetime) -> Certificate:
    """Issue a new certificate (new code) under `new_name`; the previous one is superseded."""
    name = clean_name(new_name)
    previous = current_certificate(enrollment)
    if previous is None:
        raise CertificateError(_("No hay certificado que volver a emitir."))
    cert = _insert(enrollment, previous.generation + 1, name, now)
    if cert is None:
        # Someone reissued at the same moment: theirs stands.
        current = current_certificate(enrollment)
        assert current is not None
        return current
    previous.superseded_by_id = cert.id
    previous.superseded_at = now
    # The registration follows the corrected name, so lists and e-mails agree with the paper.
    enrollment.name = name
    db.session.flush()
    queue_ready_mail(cert, now)
    webhooks.emit("certificate.issued", cert.enrollment, now, certificate=cert)
    return cert


def certificate_state(cert: Certificate) -> str:
    """ "valid", "revoked" or "superseded"."""
    if cert.is_valid:
        return "valid"
    return "superseded" if cert.superseded_by_id is not None else "revoked"


def invalid_status_indexes(number: int) -> list[int]:
    """The bits to set in status list `number`: its certificates no longer valid."""
    size = STATUS_LIST_SIZE
    ids = db.session.scalars(
        select(Certificate.id).where(
            ~Certificate.is_valid,
            Certificate.id >= number * size,
            Certificate.id < (number + 1) * size,
        )
    )
    return [cert_id - number * size for cert_id in ids]


def last_status_list() -> int:
    """The number of the newest status list (0 while fewer than 131072 certificates exist)."""
    return (db.session.scalar(select(func.max(Certificate.id))) or 0) // STATUS_LIST_SIZE


def all_organizers() -> list[str]:
    """Every organiser named by a course, once, in catalogue order (the issuer profile)."""
    seen: dict[str, None] = {}
    for organizers in db.session.scalars(select(Course.organizers).order_by(Course.id)):
        for name in organizers or []:
            seen.setdefault(localized(name), None)
    return list(seen)


def course_titles() -> list[dict]:
    return list(db.session.scalars(select(Course.title).order_by(Course.id)))


def find_by_code(code: str) -> Certificate | None:
    """The certificate with this (normalised) code."""
    return db.session.scalars(select(Certificate).where(Certificate.code == code)).first()


def clean_name(typed: str) -> str:
    """A corrected name, under registration's one name rule (CertificateError if refused)."""
    try:
        return rules.clean_name(typed)
    except ValueError as refused:
        raise CertificateError(str(refused)) from None


@dataclass(frozen=True)
class NameChange:
    """What happened to a participant's name request."""

    #: "changed" (before a certificate: applied at once) or "requested" (a coordinator decides).
    outcome: str
    name: str


def change_name(enrollment: Enrollment, typed: str, now: datetime) -> NameChange:
    """Correct the name before a certificate exists; afterwards file a request for coordinators."""
    name = clean_name(typed)
    if current_certificate(enrollment) is None:
        enrollment.name = name
        db.session.flush()
        return NameChange("changed", name)
    if name == current_certificate(enrollment).holder_name:
        raise CertificateError(_("Ese ya es el nombre que aparece en tu certificado."))
    pending = pending_name_correction(enrollment)
    if pending is not None:
        # One open request at a time: a second one replaces the wording of the first.
        pending.requested_name = name
        pending.created_at = now
    else:
        db.session.add(
            NameCorrection(enrollment_id=enrollment.id, requested_name=name, created_at=now)
        )
    db.session.flush()
    return NameChange("requested", name)


def pending_name_correction(enrollment: Enrollment) -> NameCorrection | None:
    """The participant's undecided name correction request, if any."""
    return db.session.scalars(_PENDING_CORRECTION, {"enrollment": enrollment.id}).first()


def resend_ready_mail(cert: Certificate, now: datetime) -> None:
    """A coordinator's "send again": only a valid certificate of a person not erased."""
    if not cert.is_valid or cert.enrollment.erased_at is not None:
        raise CertificateError(_("Solo se reenvía un certificado vigente."))
    queue_ready_mail(cert, now)


def queue_ready_mail(cert: Certificate, now: datetime) -> None:
    """Queue "tu certificado está listo" (personal link, downloads, verification link).

    Issuing and reissuing call it; a coordinator's "send again" too (`resend_ready_mail`).
    Nothing is sent to an erased enrollment. Delivery happens from the outbox after the
    caller's commit.
    """
    enrollment = cert.enrollment
    if enrollment.erased_at is not None:
        return
    link = personal_link(token_for(enrollment.token_salt))
    queue_email(
        kind="certificate",
        recipient=enrollment.email,
        template="certificates/mail_ready",
        language=enrollment.locale,
        now=now,
        enrollment_id=enrollment.id,
        name=cert.holder_name,
        course_title=localized(enrollment.edition.course.title, enrollment.locale),
        edition_slug=enrollment.edition.slug,
        code=codes.format_code(cert.code),
        personal_link=link,
        pdf_link=f"{link}/certificate.pdf",
        png_link=f"{link}/certificate.png",
        verify_link=verify_url(cert.code),
        contacts=course_contacts(enrollment.edition.course, enrollment.locale, enrollment.country),
    )
