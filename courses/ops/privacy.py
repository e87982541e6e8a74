"""Erasing personal data: after the retention period (purge) or when a person asks (erase).

An erased enrollment keeps its row, edition, country, status, dates and module completions, so
counts and statistics stay right; its name, e-mail, phone and organisation are replaced by
placeholders and its personal link stops working. Issued certificates keep `holder_name`, so a
printed QR code still verifies with the holder's name and nothing else.

The audit log keeps that each action happened (who, what, when, on which enrollment), but not
the person: every text in an entry's details that names them (a corrected name, a changed
address, a coordinator's search for them) becomes "[borrado]".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update

from courses.api.models import WebhookDelivery
from courses.catalog.models import Course, Edition
from courses.certificates import recent
from courses.certificates.models import NameCorrection
from courses.coordination.models import AuditEntry
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
    # Recent certificate renders name the holder: this process drops them now, the others
    # within minutes (certificates/recent.py).
    recent.forget()


#: What replaces a text of the audit log that names an erased person.
SCRUBBED = "[borrado]"
#: Parts of a name shorter than this ("de", "la", "Li") are not looked for on their own.
_NAME_PART = 4


def _erase_all(enrollments: Iterable[Enrollment], now: datetime) -> list[int]:
    erased, needles = [], set()
    for enrollment in enrollments:
        if enrollment.erased_at is None:
            needles |= _identifiers(enrollment)
        erase_enrollment(enrollment, now)
        erased.append(enrollment.id)
    scrub_audit(erased, needles)
    return erased


def _identifiers(enrollment: Enrollment) -> set[str]:
    """Lower-case texts that identify the person: name and its longer parts, address, phone."""
    name = " ".join((enrollment.name or "").split()).casefold()
    found = {name, enrollment.email_key.casefold(), enrollment.email_key.split("@")[0]}
    found |= {part for part in re.split(r"[\s'-]+", name) if len(part) >= _NAME_PART}
    digits = re.sub(r"\D", "", enrollment.phone or "")
    found |= {digits, digits[-8:]} if len(digits) >= 8 else set()
    return {needle for needle in found if len(needle) >= 3}


def _names_person(text: str, needles: set[str]) -> bool:
    """Whether `text` contains one of the person's identifiers, or is a search for one of them
    (three letters or more: a country code such as "PE" is not a search)."""
    folded = " ".join(text.split()).casefold()
    if any(needle in folded or (len(folded) >= 3 and folded in needle) for needle in needles):
        return True
    digits = re.sub(r"\D", "", text)
    return len(digits) >= 6 and any(n.isdigit() and digits in n for n in needles)


#: Detail keys that never hold personal data: kept even in entries about an erased person.
_KEEP = frozenset({"status_before", "status_after", "module", "decision", "rows"})


def _scrubbed(value: object, needles: set[str], everything: bool) -> object:
    """`value` with every text naming the person (or, if `everything`, every text) replaced."""
    if isinstance(value, dict):
        return {
            key: item if key in _KEEP else _scrubbed(item, needles, everything)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item, needles, everything) for item in value]
    if isinstance(value, str) and value and (everything or _names_person(value, needles)):
        return SCRUBBED
    return value


def scrub_audit(enrollment_ids: list[int], needles: set[str]) -> int:
    """Scrub the erased people from audit details; the entries themselves stay (flush only).

    Entries about one of them (target "enrollment:<id>") lose every text of their details
    (corrected names, old and new addresses); any other entry loses the texts that name one of
    them (a search for "pedro" in an export's filters). Returns how many entries changed.
    """
    if not enrollment_ids:
        return 0
    targets = {f"enrollment:{number}" for number in enrollment_ids}
    changed = 0
    for entry in db.session.scalars(select(AuditEntry).execution_options(yield_per=500)):
        if not entry.details:
            continue
        scrubbed = _scrubbed(entry.details, needles, entry.target in targets)
        if scrubbed != entry.details:
            entry.details = scrubbed  # a new object: JSON columns do not track changes inside
            changed += 1
    db.session.flush()
    return changed


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
