"""Where each message stands, in words a coordinator understands (enrollee page, admin list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from courses.extensions import db
from courses.mail.models import OutboxMessage

DELIVERED = "delivered"
WAITING = "waiting"
FAILED = "failed"

STATE_LABELS = {
    DELIVERED: _l("entregado"),
    WAITING: _l("esperando"),
    FAILED: _l("no se pudo entregar"),
}

#: What each kind of message is, for people (unknown kinds are shown as they are).
KIND_LABELS = {
    "confirmation": _l("Confirmación de inscripción"),
    "waiting-list": _l("Lista de espera"),
    "promoted": _l("Cupo asignado"),
    "already-registered": _l("Ya inscrito: enlace reenviado"),
    "lost-link": _l("Enlace personal reenviado"),
    "reminder-deadline": _l("Recordatorio: queda una semana"),
    "reminder-last-call": _l("Recordatorio: últimos días"),
    "reminder-nudge": _l("Recordatorio: módulos pendientes"),
}

#: A due message waiting longer than this is listed for admins as "long waiting".
LONG_WAIT = timedelta(minutes=15)
#: Most messages listed on one page.
LISTED = 200


@dataclass(frozen=True)
class MailLine:
    """One message as a coordinator sees it."""

    id: int
    kind: str
    label: str
    recipient: str
    created_at: datetime
    state: str
    state_label: str
    #: When it was delivered, or when it is tried next (waiting), or when it was given up.
    at: datetime | None
    attempts: int
    #: The server's answer or the connection problem, for waiting and failed messages.
    reason: str | None
    enrollment_id: int | None


def line(row: OutboxMessage) -> MailLine:
    if row.sent_at is not None:
        state, at = DELIVERED, row.sent_at
    elif row.failed_at is not None:
        state, at = FAILED, row.failed_at
    else:
        state, at = WAITING, row.next_attempt_at
    label = KIND_LABELS.get(row.kind)
    return MailLine(
        id=row.id,
        kind=row.kind,
        label=str(label) if label else row.kind,
        recipient=row.recipient,
        created_at=row.created_at,
        state=state,
        state_label=str(STATE_LABELS[state]),
        at=at,
        attempts=row.attempts,
        reason=None if state == DELIVERED else row.last_error,
        enrollment_id=row.enrollment_id,
    )


def for_enrollment(enrollment_id: int) -> list[MailLine]:
    """Every message sent (or to be sent) about one enrollment, newest first."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.enrollment_id == enrollment_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(LISTED)
    )
    return [line(row) for row in rows]


def troubled(now: datetime) -> list[MailLine]:
    """Messages given up, and due messages waiting for more than LONG_WAIT, oldest first."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .where(
            or_(
                OutboxMessage.failed_at.is_not(None),
                OutboxMessage.created_at <= now - LONG_WAIT,
            )
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(LISTED)
    )
    return [line(row) for row in rows]
