"""The outbox: queue a message with what caused it, deliver it after the commit, retry failures.

A message is a row first. It is committed in the same transaction as the registration (or
certificate…) that caused it, so there is never a mail about something that did not happen,
nor something that happened without its mail. Delivery is tried once the response has been
sent (see `deliver_after_response`); what fails stays queued with a retry time for
`flask --app wsgi outbox send`.
"""

from __future__ import annotations

import logging
import re
import smtplib
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, has_app_context, has_request_context
from flask_babel import force_locale
from flask_mail import Message
from jinja2 import TemplateNotFound
from sqlalchemy import func, select

from courses import clock
from courses.extensions import db
from courses.mail import transport
from courses.mail.models import OutboxMessage

log = logging.getLogger(__name__)

#: Minutes to wait after the 1st, 2nd, 3rd… failed attempt; the last value repeats.
BACKOFF_MINUTES = (1, 5, 15, 60, 240, 720, 1440)
#: Failed attempts after which a message is given up (about four days of retries).
MAX_ATTEMPTS = 10

SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"

#: Where the current request keeps (id, Message-ID) of the messages it queued.
_QUEUED = "outbox_queued"


def render_email(template: str, language: str, context: dict) -> tuple[str, str, str | None]:
    """Render `<template>.txt` (first line "Subject: …") and the optional `<template>.html`."""
    env = current_app.jinja_env
    # The Jinja environment is used directly (no context processors): mail is also rendered
    # by CLI commands, where there is no request to build page links from.
    with force_locale(language):
        raw = env.get_template(f"{template}.txt").render(language=language, **context)
        try:
            html_template = env.get_template(f"{template}.html")
        except TemplateNotFound:
            html = None
        else:
            html = html_template.render(language=language, **context).strip() or None
    first, _, rest = raw.lstrip().partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"{template}.txt must start with a 'Subject: …' line")
    return first.removeprefix("Subject:").strip(), rest.strip("\n") + "\n", html


def new_message_id(kind: str) -> str:
    """A unique RFC 5322 Message-ID on this site's domain."""
    domain = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    # Short enough that the header is never folded: some readers keep the fold's space.
    return f"<{uuid.uuid4().hex}.{re.sub(r'[^a-z0-9-]', '', kind.lower())[:20]}@{domain}>"


def queue_email(
    *,
    kind: str,
    recipient: str,
    template: str,
    language: str,
    now: datetime,
    enrollment_id: int | None = None,
    **context,
) -> OutboxMessage:
    """Render a message in `language` and add it to the outbox (flush only)."""
    subject, text, html = render_email(template, language, context)
    message = OutboxMessage(
        message_id=new_message_id(kind),
        kind=kind,
        recipient=recipient,
        subject=subject[:300],
        body_text=text,
        body_html=html,
        enrollment_id=enrollment_id,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
    )
    db.session.add(message)
    db.session.flush()
    if has_request_context():
        g.setdefault(_QUEUED, []).append((message.id, message.message_id))
    return message


def retry_at(attempts: int, now: datetime) -> datetime:
    """When to try again after `attempts` failed attempts."""
    index = min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1
    return now + timedelta(minutes=BACKOFF_MINUTES[index])


def due_message_ids(now: datetime, limit: int | None = None) -> list[int]:
    """Unsent messages whose time has come, oldest first."""
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def pending_count() -> int:
    """How many messages are still to be sent (due or waiting for their retry time)."""
    query = select(func.count()).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)
    )
    return db.session.scalar(query) or 0


def claim(message_id: int, now: datetime, *, rfc_message_id: str | None = None) -> Message | None:
    """Take one due, unsent message for delivery and return it ready to send (flush only).

    The row is read with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL), so a row another sender
    is claiming is skipped. The claim counts the attempt and moves `next_attempt_at` to the
    retry time: other senders leave the row alone while it is on its way, and take it up again
    later if this process dies before recording the result.
    """
    query = select(OutboxMessage).where(
        OutboxMessage.id == message_id,
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
    )
    if rfc_message_id is not None:
        query = query.where(OutboxMessage.message_id == rfc_message_id)
    row = db.session.scalar(query.with_for_update(skip_locked=True))
    if row is None:
        return None
    row.attempts += 1
    row.next_attempt_at = retry_at(row.attempts, now)
    db.session.flush()
    return transport.build_message(row)


def record(message_id: int, now: datetime, error: Exception | None) -> None:
    """Write down how a delivery attempt ended (flush only)."""
    row = db.session.get(OutboxMessage, message_id)
    if row is None:
        return
    if error is None:
        row.sent_at = now
        row.last_error = None
    else:
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if is_permanent(error) or row.attempts >= MAX_ATTEMPTS:
            # Retrying a refused address forever would only keep /healthz degraded.
            row.failed_at = now
            log.warning(
                "mail %s given up after %s attempts: %s", row.id, row.attempts, row.last_error
            )
        else:
            log.warning(
                "mail %s not delivered (attempt %s): %s", row.id, row.attempts, row.last_error
            )
    db.session.flush()


def is_permanent(error: Exception) -> bool:
    """Whether the mail server refused the message for good (an SMTP 5xx answer)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def deliver(message_id: int, now: datetime, *, rfc_message_id: str | None = None) -> str:
    """Deliver one message: "sent", "failed" or "skipped" (not due, sent, or being sent).

    Commits the claim before talking to the mail server and the result after: no transaction
    (and, on SQLite, no write lock) is held while a slow server makes us wait.
    """
    message = claim(message_id, now, rfc_message_id=rfc_message_id)
    db.session.commit()
    if message is None:
        return SKIPPED
    error: Exception | None = None
    try:
        transport.send(message)
    except Exception as failure:  # noqa: BLE001 - any failure is recorded on the row and retried
        error = failure
    record(message_id, now, error)
    db.session.commit()
    return SENT if error is None else FAILED


def deliver_each(messages: Iterable[tuple[int, str | None]], now: datetime) -> dict[str, int]:
    """Deliver messages one by one; count the outcomes."""
    counts = {SENT: 0, FAILED: 0, SKIPPED: 0}
    for message_id, rfc_message_id in messages:
        try:
            outcome = deliver(message_id, now, rfc_message_id=rfc_message_id)
        except Exception:
            # One bad row (or a database hiccup) must not stop the others.
            log.exception("outbox message %s could not be processed", message_id)
            db.session.rollback()
            outcome = FAILED
        counts[outcome] += 1
    return counts


def _deliver_queued(app: Flask, queued: list[tuple[int, str]]) -> None:
    """Runs when the response is closed: deliver what the request queued (and committed)."""
    try:
        if has_app_context() and current_app._get_current_object() is app:
            # Still inside the caller's application context (the test client keeps it): use it.
            deliver_each(queued, clock.now())
            return
        with app.app_context():
            try:
                deliver_each(queued, clock.now())
            finally:
                db.session.remove()
    except Exception:  # never let mail trouble reach the WSGI server
        log.exception("delivery after response failed")


def deliver_after_response(response: Response) -> Response:
    """after_request hook: schedule delivery of this request's messages for after the response.

    Only rows that still exist and are unsent are delivered, so a request that rolled back
    sends nothing, and a slow mail server never delays the page.
    """
    queued = g.pop(_QUEUED, None)
    if queued:
        app = current_app._get_current_object()
        response.call_on_close(partial(_deliver_queued, app, queued))
    return response
