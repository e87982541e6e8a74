"""Enrollments: one person registered (or waiting) for one edition."""

from __future__ import annotations

from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from courses import clock
from courses.database import UTCDateTime, utcnow
from courses.extensions import db

if TYPE_CHECKING:
    from courses.catalog.models import Edition

#: Stored states. Coordinators see finer states (confirmed, in progress…) derived from these.
REGISTERED = "registered"
WAITING = "waiting"
#: Left the edition (their seat went to the waiting list); a coordinator may undo it.
WITHDRAWN = "withdrawn"


class Enrollment(db.Model):
    __tablename__ = "enrollment"
    __table_args__ = (
        # One registration per person and edition; e-mail compared case-insensitively.
        UniqueConstraint("edition_id", "email_key"),
        # Capacity: a registered person holds a numbered seat; seats are unique per edition and
        # never above capacity, so concurrent registrations cannot overfill an edition.
        UniqueConstraint("edition_id", "seat"),
        CheckConstraint("status IN ('registered', 'waiting', 'withdrawn')", name="status"),
        CheckConstraint("seat IS NULL OR seat >= 1", name="seat"),
        CheckConstraint("status = 'registered' OR seat IS NULL", name="waiting_has_no_seat"),
        # The API pages through an edition in (updated_at, id) order.
        Index("ix_enrollment_edition_updated", "edition_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("edition.id", ondelete="RESTRICT"), index=True
    )
    #: As typed, trimmed and with inner white space collapsed.
    name: Mapped[str] = mapped_column(String(120))
    #: Normalised by email-validator (domain in lower case, local part as typed).
    email: Mapped[str] = mapped_column(String(254))
    #: Lower-cased e-mail: the uniqueness key.
    email_key: Mapped[str] = mapped_column(String(254), index=True)
    #: E.164, e.g. +56912345678.
    phone: Mapped[str] = mapped_column(String(20))
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2), index=True)
    organization: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=REGISTERED)
    #: Seat number for registered people in an edition with a capacity; None otherwise.
    seat: Mapped[int | None] = mapped_column(Integer)
    #: Language the person used ("es" or "en"); mail and certificate follow it.
    locale: Mapped[str] = mapped_column(String(5), default="es")
    #: Random salt from which the personal link's token is derived (see tokens.py).
    token_salt: Mapped[str] = mapped_column(String(32))
    #: SHA-256 of the personal link's token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Which privacy notice was accepted.
    privacy_version: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: First time the personal link was opened: the e-mail address works.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the last module was completed.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Answers to the course's extra questions ([[questions]]), by key: the text typed, or
    #: the Spanish wording of the choice picked (what exports show and the dashboard counts).
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    #: When the person left the edition (status "withdrawn").
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When personal data was erased (privacy purge or a request); the row keeps statistics.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Last change to anything an export shows: this row (onupdate) or a child row that
    #: `TouchesEnrollment` (module completions, certificates). The API's `updated_since`.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    edition: Mapped[Edition] = relationship(back_populates="enrollments")

    @property
    def is_waiting(self) -> bool:
        return self.status == WAITING

    @property
    def is_withdrawn(self) -> bool:
        return self.status == WITHDRAWN

    def __repr__(self) -> str:
        return f"<Enrollment {self.id} {self.status}>"


#: Indexes that only a migration creates, on PostgreSQL only (i17d, for the coordinators'
#: likely-duplicate look-up): one is on the name-folding expression, which SQLite cannot index,
#: so they are not on the model. Schema comparisons (autogenerate, the schema tests) leave them
#: alone through `compared`, instead of proposing to drop them.
MIGRATION_ONLY_INDEXES = frozenset(
    {"ix_enrollment_edition_phone", "ix_enrollment_edition_folded_name"}
)


def compared(object_, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Alembic's `include_object`: compare everything but `MIGRATION_ONLY_INDEXES`."""
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


class TouchesEnrollment:
    """A row that an enrollment's export shows (a module completion, a certificate).

    Adding, changing or deleting one moves its enrollment's `updated_at`, so a partner system
    that syncs with `updated_since` sees the change. Written once here (a flush hook) rather
    than at each place that changes such a row. The class needs an `enrollment_id` column.
    """


@event.listens_for(Session, "before_flush")
def _touch_enrollments(session: Session, flush_context, instances) -> None:
    changed = {
        row.enrollment_id
        for row in chain(session.new, session.deleted, session.dirty)
        if isinstance(row, TouchesEnrollment)
        and row.enrollment_id is not None
        and (row not in session.dirty or session.is_modified(row))
    }
    if not changed:
        return
    now = clock.now()
    unloaded = []
    for enrollment_id in changed:
        enrollment = session.identity_map.get(session.identity_key(Enrollment, enrollment_id))
        if enrollment is not None:
            enrollment.updated_at = now  # part of this flush
        else:
            unloaded.append(enrollment_id)
    if unloaded:
        session.connection().execute(
            update(Enrollment.__table__)
            .where(Enrollment.__table__.c.id.in_(unloaded))
            .values(updated_at=now)
        )


class OpeningNotice(db.Model):
    """Someone who found a course closed and asked for one message when it opens ("avísame")."""

    __tablename__ = "opening_notice"
    __table_args__ = (
        # One request per person and course, however often they ask.
        UniqueConstraint("course_id", "contact_key"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="reachable"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    #: Normalised like a registration's e-mail; None when only a phone was left.
    email: Mapped[str | None] = mapped_column(String(254))
    #: E.164; None when an e-mail was left.
    phone: Mapped[str | None] = mapped_column(String(20))
    #: The lower-case e-mail, else the phone: the uniqueness key.
    contact_key: Mapped[str] = mapped_column(String(254))
    #: Language of the message.
    locale: Mapped[str] = mapped_column(String(5), default="es")
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
