"""Erasing personal data: after the retention period (purge) or when a person asks (erase).

An erased enrollment keeps its row, edition, country, status, dates and module completions, so
counts and statistics stay right; its name, e-mail, phone and organisation are replaced by
placeholders and its personal link stops working. Issued certificates keep `holder_name`, so a
printed QR code still verifies with the holder's name and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update

from courses.api.models import WebhookDelivery
from courses.catalog.models import Course, Edition
from courses.certificates.models import NameCorrection
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.registration import tokens
from courses.registration.models import Enrollment

#: Reserved top-level domain (RFC 2606): a placeholder address can never receive mail.
PLACEHOLDER_DOMAIN = "erased.invalid"


class PrivacyError(Exception):
    """A request the privacy commands refuse, with the reason in plain words."""


def erase_enrollment(enrollment: Enrollment, now: datetime) -> None:
    """Replace one enrollment's personal data by placeholders (idempotent); flush only."""
    if enrollment.erased_at is not None:
        return
    placeholder = f"erased-{enrollment.id}"
    enrollment.name = ""
    enrollment.email = f"{placeholder}@{PLACEHOLDER_DOMAIN}"
    # Still unique per edition, and never equal to a real address's key.
    enrollment.email_key = placeholder
    enrollment.phone = ""
    enrollment.organization = ""
    # A fresh salt: the old personal link (which shows the name) no longer finds the row.
    enrollment.token_salt = tokens.new_salt()
    enrollment.token_hash = tokens.hash_token(tokens.token_for(enrollment.token_salt))
    enrollment.erased_at = now
    db.session.execute(
        update(NameCorrection)
        .where(NameCorrection.enrollment_id == enrollment.id)
        .values(requested_name="")
    )
    # Queued and sent e-mails carry the address, the name and the personal link.
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.enrollment_id == enrollment.id))
    # So do webhook deliveries (their bodies name the person).
    db.session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.enrollment_id == enrollment.id)
    )
    db.session.flush()


def _erase_all(enrollments: Iterable[Enrollment], now: datetime) -> list[int]:
    erased = []
    for enrollment in enrollments:
        erase_enrollment(enrollment, now)
        erased.append(enrollment.id)
    return erased


def purge_before(cutoff: datetime, now: datetime) -> dict[str, int]:
    """Erase every enrollment created before `cutoff` and old mail; counts of what was done."""
    if cutoff > now:
        raise PrivacyError("The cut-off date is in the future; nothing was erased.")
    enrollments = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.created_at < cutoff, Enrollment.erased_at.is_(None))
        .order_by(Enrollment.id)
        .with_for_update()
    ).all()
    erased = _erase_all(enrollments, now)
    # Mail older than the cut-off holds addresses and links too, whoever it was for.
    mail = db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.created_at < cutoff)
    ).rowcount
    db.session.flush()
    return {"enrollments": len(erased), "messages": mail}


def find_person(email: str, edition_ref: str | None = None) -> list[Enrollment]:
    """Every not yet erased enrollment of `email` (optionally in one COURSE/EDITION)."""
    key = email.strip().lower()
    if "@" not in key:
        raise PrivacyError(f"{email!r} is not an e-mail address.")
    query = select(Enrollment).where(Enrollment.email_key == key, Enrollment.erased_at.is_(None))
    if edition_ref:
        edition = find_edition(edition_ref)
        query = query.where(Enrollment.edition_id == edition.id)
    return list(db.session.scalars(query.order_by(Enrollment.id)).all())


def find_edition(reference: str) -> Edition:
    """The edition named "COURSE/EDITION" (slugs), or a PrivacyError saying what is wrong."""
    course_slug, _, edition_slug = reference.partition("/")
    if not course_slug or not edition_slug:
        raise PrivacyError(f"{reference!r}: write the edition as COURSE/EDITION, e.g. curso/2023.")
    edition = db.session.scalar(
        select(Edition).join(Course).where(Course.slug == course_slug, Edition.slug == edition_slug)
    )
    if edition is None:
        raise PrivacyError(f"No edition {reference!r}.")
    return edition


def erase_person(
    email: str, now: datetime, edition_ref: str | None = None
) -> tuple[list[int], int]:
    """Erase one person's enrollments on request: (ids erased, other e-mails deleted)."""
    enrollments = find_person(email, edition_ref)
    erased = _erase_all(enrollments, now)
    deleted = 0
    if edition_ref is None:
        # Erasing the person everywhere: mail not tied to an enrollment (a lost-link request)
        # still names the address.
        key = email.strip().lower()
        deleted = db.session.execute(
            delete(OutboxMessage).where(func.lower(OutboxMessage.recipient) == key)
        ).rowcount
    db.session.flush()
    return erased, deleted
