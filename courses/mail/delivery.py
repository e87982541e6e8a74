"""Delivering the outbox: claim a batch, send it over one connection, record how it went.

Every sender (the `outbox work` worker, `outbox send`) goes through `claim` and `deliver`:

- **Claim**: one short transaction takes up to N due rows (SELECT … FOR UPDATE SKIP LOCKED on
  PostgreSQL; on SQLite every writing transaction starts with BEGIN IMMEDIATE, so claims queue
  one after the other), counts the attempt and sets `claimed_until`, a lease: other senders
  leave the rows alone until it passes, and take them up again if this one dies.
- **Deliver**: the mail server is contacted only after that commit, once for the whole batch;
  no transaction (and on SQLite no write lock) is held while a slow server makes us wait.
- **Record**: the outcomes are written in as few transactions as possible (every couple of
  seconds and at the end of the batch). Rows not tried (the server could not be reached, or
  the worker is stopping) are released without counting an attempt: an unreachable server is
  the server's fault, not the message's, and the worker backs off instead.

Delivery is at least once: a sender killed between the server's "250 OK" and its record sends
that message again after the lease, with the same Message-ID.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_mail import Message
from sqlalchemy import func, or_, select, update

from courses import clock
from courses.extensions import db
from courses.mail import transport
from courses.mail.models import OutboxMessage

log = logging.getLogger(__name__)

#: Minutes to wait after the 1st, 2nd, 3rd… failed attempt; the last value repeats.
BACKOFF_MINUTES = (1, 5, 15, 60, 240, 720, 1440)
#: Failed attempts after which a message is given up (about four days of retries).
MAX_ATTEMPTS = 10
#: Messages claimed and sent over one connection.
BATCH = 20
#: Outcomes are written down at least this often during a long batch (slow server).
RECORD_EVERY_SECONDS = 2.0


@dataclass(frozen=True)
class Claimed:
    """A message this sender holds: its row, the attempt it is on, the MIME message."""

    id: int
    kind: str
    attempts: int
    message: Message


@dataclass
class Outcome:
    """What one batch did."""

    sent: int = 0
    failed: int = 0
    given_up: int = 0
    released: int = 0
    #: Why the server could not be used (it was unreachable, or broke mid-batch), if so.
    server_error: str | None = None
    tried_ids: list[int] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.given_up += other.given_up
        self.released += other.released
        self.server_error = other.server_error or self.server_error
        self.tried_ids += other.tried_ids


def retry_at(attempts: int, now: datetime) -> datetime:
    """When to try again after `attempts` failed attempts."""
    index = min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1
    return now + timedelta(minutes=BACKOFF_MINUTES[index])


def is_permanent(error: Exception) -> bool:
    """Whether the mail server refused the message for good (an SMTP 5xx answer)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def breaks_connection(error: Exception) -> bool:
    """Whether, after `error`, the connection cannot carry the rest of the batch."""
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code == 421  # "closing transmission channel"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return False
    return isinstance(error, (OSError, smtplib.SMTPServerDisconnected))


# Of the table's columns, not the mapped attributes, so that a statement of table columns
# built with them stays Core (no ORM compile and execution steps).
_OUTBOX = OutboxMessage.__table__.c


def pending_filter():
    """Rows still to deliver: not sent, not given up."""
    return _OUTBOX.sent_at.is_(None), _OUTBOX.failed_at.is_(None)


def unclaimed(now: datetime):
    """Rows no sender holds at `now` (never claimed, or their lease has passed)."""
    return or_(_OUTBOX.claimed_until.is_(None), _OUTBOX.claimed_until <= now)


def next_due(now: datetime) -> datetime | None:
    """When the earliest pending, unclaimed message is (or was) due; None if there is none."""
    return db.session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(*pending_filter(), unclaimed(now))
    )


def lease(count: int) -> timedelta:
    """How long a claim of `count` messages is held: enough for each to hit MAIL_TIMEOUT twice."""
    timeout = float(current_app.config["MAIL_TIMEOUT"])
    return timedelta(seconds=max(60.0, 2 * max(count, 1) * timeout + 30))


#: What a sender reads of a row it claims: the MIME message's fields, its kind and attempts.
_CLAIMED_COLUMNS = [
    getattr(_OUTBOX, name)
    for name in (
        "id",
        "kind",
        "attempts",
        "message_id",
        "recipient",
        "subject",
        "body_text",
        "body_html",
        "headers",
        "created_at",
    )
]


def claim(
    now: datetime, limit: int, *, include_waiting: bool = False, after_id: int = 0
) -> list[Claimed]:
    """Take up to `limit` due messages (or every pending one with `include_waiting`); commit.

    Plain rows and one UPDATE for the batch (Core): loading the rows as ORM objects and
    flushing each one's change cost more than writing the messages did."""
    table = _OUTBOX
    query = (
        select(*_CLAIMED_COLUMNS)
        .where(*pending_filter(), unclaimed(now), table.id > after_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if include_waiting:
        query = query.order_by(table.id)
    else:
        query = query.where(table.next_attempt_at <= now).order_by(table.next_attempt_at, table.id)
    rows = db.session.execute(query).all()
    if rows:
        # The rows are this transaction's until it commits (FOR UPDATE on PostgreSQL, the
        # write lock on SQLite): `attempts + 1` is the value read plus one.
        db.session.execute(
            update(OutboxMessage.__table__)
            .where(table.id.in_([row.id for row in rows]))
            .values(attempts=table.attempts + 1, claimed_until=now + lease(len(rows)))
        )
    claimed = [
        Claimed(row.id, row.kind, row.attempts + 1, transport.build_message(row)) for row in rows
    ]
    db.session.commit()
    return claimed


def deliver(
    claimed: list[Claimed],
    *,
    stopping: Callable[[], bool] = lambda: False,
    now: Callable[[], datetime] = clock.now,
) -> Outcome:
    """Send claimed messages over one connection, record each outcome, release the rest."""
    outcome = Outcome()
    if not claimed:
        return outcome
    try:
        session = transport.Session()
    except (transport.ServerUnavailable, transport.DeliveryUnavailable) as error:
        outcome.server_error = str(error)
        _release(claimed, outcome.server_error, outcome)
        db.session.commit()
        log.warning("mail server unavailable, %s messages left queued: %s", len(claimed), error)
        return outcome
    done: list[tuple[Claimed, Exception | None]] = []
    rest: list[Claimed] = []
    last_record = time.monotonic()
    with session:
        for index, item in enumerate(claimed):
            if stopping():
                rest = claimed[index:]
                break
            error: Exception | None = None
            try:
                session.send(item.message)
            except Exception as failure:  # noqa: BLE001 - recorded on the row and retried
                error = failure
            done.append((item, error))
            if error is not None and breaks_connection(error):
                outcome.server_error = f"{type(error).__name__}: {error}"
                rest = claimed[index + 1 :]
                break
            if time.monotonic() - last_record >= RECORD_EVERY_SECONDS:
                _record(done, now(), outcome)
                db.session.commit()
                done, last_record = [], time.monotonic()
    _record(done, now(), outcome)
    _release(rest, outcome.server_error, outcome)
    db.session.commit()
    return outcome


def _record(done: list[tuple[Claimed, Exception | None]], now: datetime, outcome: Outcome) -> None:
    """Write down the outcome of each attempt (flush only); one UPDATE for all the sent ones."""
    sent = [item for item, error in done if error is None]
    if sent:
        db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_([item.id for item in sent]), OutboxMessage.sent_at.is_(None)
            )
            .values(sent_at=now, last_error=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        for item in sent:
            # One line per delivery, without the address (personal data stays out of logs).
            log.info("mail %s (%s) delivered, attempt %s", item.id, item.kind, item.attempts)
    for item, error in done:
        outcome.tried_ids.append(item.id)
        if error is None:
            outcome.sent += 1
            continue
        reason = f"{type(error).__name__}: {error}"[:2000]
        give_up = is_permanent(error) or item.attempts >= MAX_ATTEMPTS
        values = {"last_error": reason, "claimed_until": None}
        if give_up:
            # Retrying a refused address forever would only keep /healthz degraded.
            values["failed_at"] = now
            outcome.given_up += 1
            log.warning("mail %s given up after %s attempts: %s", item.id, item.attempts, reason)
        else:
            values["next_attempt_at"] = retry_at(item.attempts, now)
            outcome.failed += 1
            log.warning("mail %s not delivered (attempt %s): %s", item.id, item.attempts, reason)
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == item.id, OutboxMessage.attempts == item.attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _release(rest: list[Claimed], reason: str | None, outcome: Outcome) -> None:
    """Give back messages that were claimed but not tried; their attempt does not count."""
    for item in rest:
        values = {"attempts": item.attempts - 1, "claimed_until": None}
        if reason:
            values["last_error"] = reason[:2000]
        # Only if still ours: a lease that ran out may have been taken by another sender.
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == item.id, OutboxMessage.attempts == item.attempts)
            .where(OutboxMessage.sent_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    outcome.released += len(rest)


def deliver_all_pending(now: datetime) -> Outcome:
    """Deliver every pending message once, due or waiting for its retry time (`outbox send`).

    Stops early when the mail server cannot be reached: the rest stay queued as they were.
    """
    total = Outcome()
    after_id = 0
    while True:
        claimed = claim(now, BATCH, include_waiting=True, after_id=after_id)
        if not claimed:
            return total
        after_id = claimed[-1].id
        outcome = deliver(claimed)
        total.add(outcome)
        if outcome.released:
            return total


def sent_in_last_minute(now: datetime) -> int:
    """Messages every sender together handed to the server in the minute before `now`."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at > now - timedelta(minutes=1))
        )
        or 0
    )


def rate_budget(now: datetime) -> int | None:
    """How many more messages MAIL_MAX_PER_MINUTE allows right now (None: no limit)."""
    limit = int(current_app.config.get("MAIL_MAX_PER_MINUTE") or 0)
    if limit <= 0:
        return None
    return max(0, limit - sent_in_last_minute(now))
