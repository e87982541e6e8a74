"""Correcting a registration's contact details after the fact, and sending its link again.

The same rules as the registration form (`rules.py`) decide what may be stored; a new e-mail
address receives the personal link and the old one is told that it changed. Functions only
flush; the caller commits, so the change and its e-mails are stored together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from courses.extensions import db
from courses.mail.services import queue_email
from courses.registration import rules
from courses.registration.models import Enrollment
from courses.registration.rules import InvalidRegistration
from courses.registration.services import mail_context

#: The fields a correction may change, in the form's order.
FIELDS = ("name", "email", "phone", "organization")


@dataclass(frozen=True)
class ContactChange:
    """What a correction changed: {field: (before, after)} for the fields that differ."""

    changes: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def email_changed(self) -> bool:
        return "email" in self.changes


def clean_contact(
    enrollment: Enrollment, name: str, email: str, phone: str, organization: str, language: str
) -> dict[str, str]:
    """The typed details in stored form; InvalidRegistration with every problem by field."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    checks = {
        "name": lambda: rules.clean_name(name),
        "email": lambda: rules.clean_email(email),
        # The country stays: national formats of the person's country are understood.
        "phone": lambda: rules.clean_phone(phone, enrollment.country, language),
        "organization": lambda: rules.clean_organization(organization),
    }
    for key, check in checks.items():
        try:
            value = check()
        except ValueError as error:
            errors[key] = str(error)
            continue
        if key == "email":
            values["email"], values["email_key"] = value
        else:
            values[key] = value
    if "email_key" in values and values["email_key"] != enrollment.email_key:
        if _taken(enrollment, values["email_key"]):
            errors["email"] = _taken_message()
    if errors:
        raise InvalidRegistration(errors)
    return values


def correct_contact(
    enrollment: Enrollment,
    *,
    name: str,
    email: str,
    phone: str,
    organization: str,
    language: str,
    now: datetime,
) -> ContactChange:
    """Store the corrected details; e-mail the link to a new address and tell the old one.

    Raises InvalidRegistration (errors by field) and then changes nothing. A name change here
    does not touch a certificate already issued (that is a name correction's work).
    """
    values = clean_contact(enrollment, name, email, phone, organization, language)
    changes = {
        key: (getattr(enrollment, key), values[key])
        for key in FIELDS
        if getattr(enrollment, key) != values[key]
    }
    if not changes:
        return ContactChange()
    old_email = enrollment.email
    email_key_changed = values["email_key"] != enrollment.email_key
    try:
        with db.session.begin_nested():
            for key in FIELDS:
                setattr(enrollment, key, values[key])
            enrollment.email_key = values["email_key"]
    except IntegrityError:
        # Another registration took this address a moment ago: the database said no.
        raise InvalidRegistration({"email": _taken_message()}) from None
    change = ContactChange(changes)
    if "email" in changes:
        send_personal_link(enrollment, now, kind="email-changed")
        if email_key_changed:
            _tell_old_address(enrollment, old_email, now)
    return change


def send_personal_link(enrollment: Enrollment, now: datetime, kind: str = "link-resent") -> None:
    """E-mail the person their personal link (the same link as before: it still works)."""
    language = enrollment.locale or "es"
    queue_email(
        kind=kind,
        recipient=enrollment.email,
        template="registration/mail_link_resent",
        language=language,
        now=now,
        enrollment_id=enrollment.id,
        **mail_context(enrollment, language),
    )


def _tell_old_address(enrollment: Enrollment, old_email: str, now: datetime) -> None:
    language = enrollment.locale or "es"
    context = mail_context(enrollment, language)
    context.pop("link")  # the old address no longer gets the way in
    queue_email(
        kind="email-changed-old",
        recipient=old_email,
        template="registration/mail_email_changed",
        language=language,
        now=now,
        enrollment_id=enrollment.id,
        **context,
    )


def _taken(enrollment: Enrollment, email_key: str) -> bool:
    return (
        db.session.scalar(
            select(Enrollment.id).where(
                Enrollment.edition_id == enrollment.edition_id,
                Enrollment.email_key == email_key,
                Enrollment.id != enrollment.id,
            )
        )
        is not None
    )


def _taken_message() -> str:
    return _("Ya hay otra inscripción con ese correo en esta edición.")
