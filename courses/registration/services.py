"""Registration rules: who may register, what is stored, who gets a seat, what is e-mailed.

Plain functions taking `now`; they only flush. `check` and `prepare` read only and run before
the write lock; `register` holds it for the duplicate check, the seat and the inserts (the
confirmation is rendered by `prepare`, outside it). The view commits once, so an enrollment
and its confirmation e-mail are stored together or not at all. The database holds the
invariants (one registration per e-mail and edition, one person per seat); on PostgreSQL these
functions catch the conflicts inside a savepoint and answer as if they had seen them first (on
SQLite writers never overlap: there is none to catch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from courses.api import webhooks
from courses.catalog.contacts import course_contacts
from courses.catalog.lines import EditionLine
from courses.catalog.models import Edition
from courses.catalog.services import module_titles, registration_state
from courses.database import plain_rows
from courses.extensions import db
from courses.i18n import format_deadline, localized, timezone_label
from courses.mail.frames import render_personal
from courses.mail.services import Rendered, prepare_email, queue_email, queue_prepared
from courses.registration import rules, seats, tokens
from courses.registration.models import REGISTERED, WAITING, Enrollment
from courses.registration.rules import Applicant

#: Outcomes of `register`: a seat (or unlimited place), the waiting list, or already there.
ALREADY = "already"

#: Outbox kind and template of the e-mail sent for each new registration's status.
MAIL_FOR_STATUS = {
    REGISTERED: ("confirmation", "mail_confirmation"),
    WAITING: ("waiting-list", "mail_waiting"),
}


class RegistrationClosed(Exception):
    """The edition is not accepting registrations at this instant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Registration:
    """What `register` did: `outcome` is "registered", "waiting" or "already"."""

    enrollment: Enrollment
    outcome: str


def enrollment_token(enrollment: Enrollment) -> str:
    """The personal-link token of an enrollment (the same every time it is derived)."""
    return tokens.token_for(enrollment.token_salt)


def check_open(edition: Edition | EditionLine, now: datetime, language: str) -> None:
    """Raise RegistrationClosed, in words, unless `edition` accepts registrations at `now`."""
    if not edition.is_open(now):
        raise RegistrationClosed(registration_state(edition, now, language).sentence)


def check(
    edition: Edition | EditionLine, applicant: Applicant, *, language: str, now: datetime
) -> rules.CleanApplicant:
    """What can refuse a registration without looking at anyone else's: the edition must be
    open at `now` and every field must follow its rule. Raises RegistrationClosed or
    InvalidRegistration (errors by field); reads only, so it runs before the write lock."""
    check_open(edition, now, language)
    course = edition.course
    return rules.clean(applicant, course.countries, language, course.questions or [])


@dataclass(frozen=True)
class Draft:
    """A registration prepared before the write lock (`prepare`): the enrollment as it is
    stored if it gets a seat, and its confirmation already rendered for that case."""

    enrollment: Enrollment
    confirmation: Rendered


def prepare(
    edition: Edition | EditionLine,
    clean: rules.CleanApplicant,
    *,
    language: str,
    now: datetime,
    privacy_version: str,
) -> Draft:
    """Build the enrollment of the `clean` applicant (from `check`) and render its
    confirmation; reads only, so it runs before the write lock (on SQLite the database's one).

    Only the seat and the status wait for `register`; the e-mail is rendered for a seat (or an
    unlimited place), the usual outcome, and `register` renders another if it is not that.
    """
    salt = tokens.new_salt()
    enrollment = Enrollment(
        edition_id=edition.id,
        name=clean.name,
        email=clean.email,
        email_key=clean.email_key,
        phone=clean.phone,
        country=clean.country,
        organization=clean.organization,
        answers=clean.answers,
        status=REGISTERED,
        seat=None,
        locale=language,
        token_salt=salt,
        token_hash=tokens.hash_token(tokens.token_for(salt)),
        consent_at=now,
        privacy_version=privacy_version,
        created_at=now,
    )
    _, template = MAIL_FOR_STATUS[REGISTERED]
    context = mail_context(enrollment, language, edition)
    # Every confirmation of an edition is one message but for the name and the link.
    confirmation = render_personal(f"registration/{template}", language, context)
    return Draft(enrollment, confirmation)


def register(
    edition: Edition | EditionLine, draft: Draft, *, language: str, now: datetime
) -> Registration:
    """Store the `draft` (from `prepare`) for `edition` at `now` with the place it gets, and
    queue the matching e-mail (flush only).

    Someone already registered with the address is told so instead. Concurrent registrations
    wait for each other's seat (see seats.py) rather than fail.
    """
    enrollment = draft.enrollment
    # By id: `edition` was read before the write lock and is expired by now; reading it would
    # load it again, inside the lock.
    capacity = seats.hold_capacity(enrollment.edition_id)
    existing = _existing(enrollment.edition_id, enrollment.email_key)
    if existing is not None:
        return _already_registered(existing, language, now)
    enrollment.status, enrollment.seat = seats.place(enrollment.edition_id, capacity)
    if _writers_serialised():
        # Nobody else writes until this transaction ends, so nobody registered the address
        # since `_existing` looked: no conflict to catch, and no SAVEPOINT to pay for.
        _insert(enrollment)
    else:
        try:
            with _savepoint():
                db.session.add(enrollment)
        except IntegrityError:
            # The same address registered a moment ago by a transaction that did not hold
            # the seats (only the unique constraint saw it).
            existing = _existing(enrollment.edition_id, enrollment.email_key)
            if existing is None:
                raise
            return _already_registered(existing, language, now)
    kind, template = MAIL_FOR_STATUS[enrollment.status]
    if enrollment.status == REGISTERED:
        # Rendered already, and not a capped kind: the row goes in as one Core INSERT, the one
        # queue_email would add (no ORM object to flush for it).
        confirmation = prepare_email(
            kind=kind,
            recipient=enrollment.email,
            rendered=draft.confirmation,
            enrollment_id=enrollment.id,
        )
        queue_prepared([confirmation], now)
    else:
        _queue(enrollment, kind=kind, template=template, language=language, now=now)
    webhooks.emit("registration.created", enrollment, now)
    return Registration(enrollment, enrollment.status)


def promote_waiting(edition: Edition, now: datetime) -> list[Enrollment]:
    """Give free seats to the waiting list, in registration order, and tell each person."""
    seats.hold_seats(edition)
    promoted: list[Enrollment] = []
    waiting = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.edition_id == edition.id,
            Enrollment.status == WAITING,
            Enrollment.erased_at.is_(None),
        )
        .order_by(Enrollment.created_at, Enrollment.id)
    ).all()
    for enrollment in waiting:
        status, seat = seats.next_place(edition)
        if status == WAITING:
            break
        enrollment.status, enrollment.seat = REGISTERED, seat
        db.session.flush()
        _queue(
            enrollment,
            kind="promoted",
            template="mail_promoted",
            language=enrollment.locale,
            now=now,
        )
        promoted.append(enrollment)
    return promoted


#: The enrollment of an address in an edition, by id (Core: the usual answer is none).
_EXISTING = select(Enrollment.__table__.c.id).where(
    Enrollment.__table__.c.edition_id == bindparam("edition"),
    Enrollment.__table__.c.email_key == bindparam("email_key"),
)


def _existing(edition_id: int, email_key: str) -> Enrollment | None:
    params = {"edition": edition_id, "email_key": email_key}
    found = plain_rows(db.session, _EXISTING, params).scalar()
    return db.session.get(Enrollment, found) if found is not None else None


def _already_registered(existing: Enrollment, language: str, now: datetime) -> Registration:
    """Re-send the same personal link to the registered address; show nothing about it."""
    _queue(existing, kind="already-registered", template="mail_already", language=language, now=now)
    return Registration(existing, ALREADY)


def _insert(enrollment: Enrollment) -> None:
    """Store the new `enrollment` as one Core INSERT, then put it in the session as the stored
    row it now is (its other columns load if read). The ORM's flush of this one object, its
    unit of work, was a tenth of a registration's CPU, spent inside the write lock."""
    columns = inspect(Enrollment).column_attrs
    values = {
        attribute.columns[0].name: enrollment.__dict__[attribute.key]
        for attribute in columns
        if attribute.key in enrollment.__dict__
    }
    stored = db.session.connection().execute(insert(Enrollment.__table__), values)
    enrollment.id = stored.inserted_primary_key[0]
    make_transient_to_detached(enrollment)
    db.session.add(enrollment)


def _savepoint():
    """A SAVEPOINT inside the request's transaction; conflicts roll back only this part."""
    return db.session.begin_nested()


def _writers_serialised() -> bool:
    """Whether this transaction is the database's only writer until it ends: on SQLite every
    writing transaction holds the write lock from its BEGIN IMMEDIATE (courses/database.py);
    on PostgreSQL writers overlap and only the unique constraints see each other's rows."""
    return db.session.get_bind().dialect.name == "sqlite"


def _queue(
    enrollment: Enrollment,
    *,
    kind: str,
    template: str,
    language: str,
    now: datetime,
) -> None:
    queue_email(
        kind=kind,
        recipient=enrollment.email,
        template=f"registration/{template}",
        language=language,
        now=now,
        enrollment_id=enrollment.id,
        **mail_context(enrollment, language),
    )


def mail_context(
    enrollment: Enrollment, language: str, edition: Edition | EditionLine | None = None
) -> dict:
    """Plain values the registration e-mails show, in `language` (`edition`: the enrollment's,
    for one not stored yet)."""
    edition = edition or enrollment.edition
    course = edition.course
    complete_by = None
    if edition.complete_by is not None:
        complete_by = (
            f"{format_deadline(edition.complete_by, course.timezone, language)} "
            f"({timezone_label(course.timezone, language)})"
        )
    return {
        "name": enrollment.name,
        "course_title": localized(course.title, language),
        "edition_label": edition.slug,
        "modules": [localized(title, language) for title in module_titles(course)],
        "completion": course.completion,
        "pass_mark": course.pass_mark,
        "complete_by": complete_by,
        "channel_url": course.channel_url,
        "waiting": enrollment.status == WAITING,
        "link": tokens.personal_link(enrollment_token(enrollment)),
        "contacts": course_contacts(course, language, enrollment.country),
    }
