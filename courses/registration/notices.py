""" "Avísame": people who found a course closed ask to be told when it opens again.

Each request is one row (an e-mail address or a phone number, with consent). When the course
has an open edition, `notify_openings` e-mails everyone who asked, once, and forgets them. It
is run by the delivery worker's scheduled jobs ("edition-openings" in `courses.worker.jobs`),
or at once with `flask --app wsgi courses notify-openings`.
A request with only a phone number is sent to the address on file for that number, from an
earlier registration; without one it is kept, since there is no message to send it yet.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from courses.catalog.contacts import course_contacts
from courses.catalog.models import Course, Edition
from courses.extensions import db
from courses.i18n import localized
from courses.mail.services import queue_email
from courses.registration import rules
from courses.registration.models import Enrollment, OpeningNotice
from courses.registration.rules import InvalidRegistration
from courses.urls import public_url


def ask_to_be_told(
    course: Course,
    *,
    email: str,
    phone: str,
    country: str,
    consent: bool,
    language: str,
    now: datetime,
) -> None:
    """Remember that this person wants one message when `course` opens (flush only).

    Raises InvalidRegistration (errors by field) for bad input; asking twice is not an error
    and stores nothing new, so the answer never tells whether someone asked before.
    """
    errors: dict[str, str] = {}
    clean_email = clean_phone = None
    if email.strip():
        try:
            clean_email = rules.clean_email(email)[0]
        except ValueError as error:
            errors["email"] = str(error)
    elif phone.strip():
        code = country if country in course.countries else None
        try:
            clean_phone = rules.clean_phone(phone, code, language)
        except ValueError as error:
            errors["phone"] = str(error)
    else:
        errors["email"] = _("Escribe tu correo electrónico o tu número de teléfono.")
    if not consent:
        errors["consent"] = _("Para avisarte debemos guardar tu correo o teléfono: acéptalo.")
    if errors:
        raise InvalidRegistration(errors)
    notice = OpeningNotice(
        course_id=course.id,
        email=clean_email,
        phone=clean_phone,
        contact_key=(clean_email or "").lower() or clean_phone,
        locale=language,
        consent_at=now,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(notice)
    except IntegrityError:
        pass  # already asked: one message is enough


def _open_edition(course: Course, now: datetime) -> Edition | None:
    open_ = [e for e in course.editions if e.is_open(now)]
    return min(open_, key=lambda e: e.registration_closes) if open_ else None


def _addresses(notice: OpeningNotice) -> list[str]:
    if notice.email:
        return [notice.email]
    return list(
        db.session.scalars(
            select(Enrollment.email)
            .where(Enrollment.phone == notice.phone, Enrollment.erased_at.is_(None))
            .group_by(Enrollment.email)
        )
    )


def notify_openings(now: datetime) -> int:
    """E-mail, once, everyone waiting for a course that now has an open edition (flush only).

    Returns how many messages were queued. Notices are deleted once told: the consent was for
    this one message.
    """
    course_ids = db.session.scalars(select(OpeningNotice.course_id).distinct()).all()
    return sum(_notify_course(db.session.get(Course, course_id), now) for course_id in course_ids)


def periods(now: datetime) -> list[str]:
    """The worker's periods: "<course id>:<edition id>" for each course with people waiting
    and an edition open now, so each opening is announced once however many workers run."""
    due = []
    for course_id in db.session.scalars(select(OpeningNotice.course_id).distinct()):
        edition = _open_edition(db.session.get(Course, course_id), now)
        if edition is not None:
            due.append(f"{course_id}:{edition.id}")
    return due


def run(period: str, now: datetime) -> str:
    """The worker's job for one period: tell that course's waiting people (flush only)."""
    course = db.session.get(Course, int(period.split(":", 1)[0]))
    sent = _notify_course(course, now) if course is not None else 0
    return f"{sent} message(s) queued"


def _notify_course(course: Course, now: datetime) -> int:
    edition = _open_edition(course, now)
    if edition is None:
        return 0
    sent = 0
    notices = db.session.scalars(
        select(OpeningNotice).where(OpeningNotice.course_id == course.id)
    ).all()
    for notice in notices:
        addresses = _addresses(notice)
        if not addresses:
            continue  # a phone we cannot write to yet: kept, not forgotten
        for address in addresses:
            _tell(course, edition, address, notice.locale, now)
            sent += 1
        db.session.delete(notice)
    db.session.flush()
    return sent


def _tell(course: Course, edition: Edition, address: str, language: str, now: datetime) -> None:
    with force_locale(language):
        queue_email(
            kind="edition-open",
            recipient=address,
            template="registration/mail_edition_open",
            language=language,
            now=now,
            course_title=localized(course.title, language),
            edition_label=edition.slug,
            form_url=public_url("registration.register", course=course.slug, edition=edition.slug),
            contacts=course_contacts(course, language),
        )
