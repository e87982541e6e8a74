"""Seat numbers: the one place that decides who holds which seat of an edition.

Every change to an edition's seats (a registration, a promotion from the waiting list, a new
capacity) first takes the edition's row lock with `hold_seats` (`hold_capacity`, by id, for a
registration). On PostgreSQL that is `SELECT … FOR NO KEY UPDATE` on the edition row, held
until the request commits, so concurrent registrations queue for a moment instead of picking
the same free seat and failing; on SQLite every writing transaction already holds the
database's write lock (BEGIN IMMEDIATE, see courses/database.py). The unique (edition, seat)
constraint still guards the invariant.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import bindparam, select

from courses.catalog.models import Edition
from courses.database import plain_rows
from courses.extensions import db
from courses.registration.models import REGISTERED, WAITING, Enrollment


def hold_seats(edition: Edition) -> None:
    """Lock `edition`'s seats until the transaction ends and re-read its capacity.

    NO KEY UPDATE (not UPDATE) so that inserting rows which refer to the edition, which takes
    a KEY SHARE lock, is never blocked by it.
    """
    db.session.flush()  # a capacity just set must not be overwritten by the re-read
    db.session.refresh(edition, ["capacity"], with_for_update={"key_share": True})


#: `hold_seats` for one registration, as a Core statement on the edition's id: a registration
#: needs only the capacity, and the edition it read before the write lock is expired by then
#: (refreshing it built the ORM's whole load for one integer, inside the lock).
_HELD_CAPACITY = (
    select(Edition.__table__.c.capacity)
    .where(Edition.__table__.c.id == bindparam("edition"))
    .with_for_update(key_share=True)
)


def hold_capacity(edition_id: int) -> int:
    """`hold_seats` by id: lock the edition's seats until the transaction ends; its capacity."""
    db.session.flush()
    return plain_rows(db.session, _HELD_CAPACITY, {"edition": edition_id}).scalar()


def free_seats(edition: Edition) -> Iterator[int]:
    """The seat numbers of 1..capacity nobody holds, lowest first (call `hold_seats` first)."""
    return _free_seats(edition.id, edition.capacity)


def _free_seats(edition_id: int, capacity: int) -> Iterator[int]:
    taken = set(
        db.session.scalars(
            select(Enrollment.seat).where(
                Enrollment.edition_id == edition_id, Enrollment.seat.is_not(None)
            )
        )
    )
    return (n for n in range(1, capacity + 1) if n not in taken)


def next_place(edition: Edition) -> tuple[str, int | None]:
    """("registered", lowest free seat), ("registered", None) if unlimited, or ("waiting", None).

    The caller holds the seats (`hold_seats`), so the seat stays free until it commits.
    """
    return place(edition.id, edition.capacity)


def place(edition_id: int, capacity: int) -> tuple[str, int | None]:
    """`next_place` by id and capacity (from `hold_capacity`)."""
    if capacity == 0:
        return REGISTERED, None
    seat = next(_free_seats(edition_id, capacity), None)
    return (REGISTERED, seat) if seat is not None else (WAITING, None)


def fit_to_capacity(edition: Edition) -> None:
    """Give every registered person a seat within 1..capacity (after the capacity changed)."""
    if not edition.capacity:
        return
    people = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.edition_id == edition.id, Enrollment.status == REGISTERED)
        .order_by(Enrollment.created_at, Enrollment.id)
    ).all()
    free = free_seats(edition)
    moving = [p for p in people if p.seat is None or p.seat > edition.capacity]
    # Free seats are read before any person moves, so a number given here is never reused.
    numbers = [next(free) for _ in moving]
    for person, number in zip(moving, numbers, strict=True):
        person.seat = number
        db.session.flush()  # one at a time: seats are unique per edition
