"""Leaving an edition (or its waiting list), and a coordinator undoing it.

A person who cannot take part gives their seat back; it goes at once to the first person on the
waiting list, who is told by e-mail. Functions only flush: the request commits once.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from courses.certificates.services import current_certificate
from courses.extensions import db
from courses.registration import seats, services
from courses.registration.models import REGISTERED, WAITING, WITHDRAWN, Enrollment


class WithdrawalRefused(Exception):
    """The rules refuse this withdrawal (or its undoing); `message` is shown as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def withdraw(enrollment: Enrollment, now: datetime) -> list[Enrollment]:
    """Leave the edition (or its waiting list); returns who got the freed seat, if anyone.

    Refused once a certificate has been issued: what was earned stays. Leaving twice is a
    no-op, so a double tap on the button does no harm.
    """
    if enrollment.status == WITHDRAWN:
        return []
    if current_certificate(enrollment) is not None:
        raise WithdrawalRefused(
            _("Ya completaste el curso y tienes tu certificado: no hace falta dejar la edición.")
        )
    # promote_waiting holds the edition's seats (seats.hold_seats) before giving this one on.
    enrollment.status, enrollment.seat, enrollment.withdrawn_at = WITHDRAWN, None, now
    db.session.flush()
    return services.promote_waiting(enrollment.edition, now)


def undo_withdrawal(enrollment: Enrollment, now: datetime) -> str:
    """Give the person their place back while a seat is free: "registered" (or refused)."""
    if enrollment.status != WITHDRAWN:
        return enrollment.status
    seats.hold_seats(enrollment.edition)
    status, seat = seats.next_place(enrollment.edition)
    if status == WAITING:
        raise WithdrawalRefused(
            _("Su cupo ya fue asignado a otra persona y no queda ninguno libre.")
        )
    enrollment.status, enrollment.seat, enrollment.withdrawn_at = REGISTERED, seat, None
    db.session.flush()
    return REGISTERED


def waiting_position(enrollment: Enrollment) -> int | None:
    """Where a waiting person stands on the list (1 = next to get a seat); None otherwise."""
    if enrollment.status != WAITING:
        return None
    ahead = db.session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(
            Enrollment.edition_id == enrollment.edition_id,
            Enrollment.status == WAITING,
            Enrollment.erased_at.is_(None),
            (Enrollment.created_at < enrollment.created_at)
            | ((Enrollment.created_at == enrollment.created_at) & (Enrollment.id < enrollment.id)),
        )
    )
    return int(ahead or 0) + 1
