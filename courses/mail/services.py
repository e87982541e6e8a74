"""The outbox: queue a message with what caused it, deliver it after the commit, retry failures.

A message is a row first. It is committed in the same transaction as the registration (or
certificate…) that caused it, so there is never a mail about something that did not happen,
nor something that happened without its mail. Delivery is tried once the response has been
sent (see `deliver_after_response`); what fails stays queued with a retry time for
`flask --app wsgi outbox send`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import make_msgid
from functools import partial
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, has_app_context, has_request_context
from flask_babel import force_locale
from jinja2 import TemplateNotFound
from sqlalchemy import func, select

from courses import clock
from courses.extensions import db
from courses.mail import transport
from courses.mail.models import OutboxMessage

log = logging.getLogger(__name__)

#: Minutes to wait after the 1st, 2nd, 3rd… failed attempt; the last value repeats.
BACKOFF_MINUTES = (1, 5, 15, 60, 240, 720, 1440)

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
    return make_msgid(idstring=kind.replace(" ", "-")[:20], domain=domain)


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
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def pending_count() -> int:
    """How many messages are still unsent (due or waiting for their retry time)."""
    query = select(func.count()).where(OutboxMessage.sent_at.is_(None))
    return db.session.scalar(query) or 0


def deliver(message_id: int, now: datetime, *, rfc_message_id: str | None = None) -> str:
    """Claim one unsent message and deliver it: "sent", "failed" or "skipped" (flush only).

    The row is claimed with SELECT … FOR UPDATE SKIP LOCKED, so several senders (workers,
    cron) never deliver the same message at once; the caller commits to release it.
    """
    query = select(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None)
    )
    if rfc_message_id is not None:
        query = query.where(OutboxMessage.message_id == rfc_message_id)
    row = db.session.scalar(query.with_for_update(skip_locked=True))
    if row is None:
        return SKIPPED
    row.attempts += 1
    try:
        transport.send(row)
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the row and retried
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        row.next_attempt_at = retry_at(row.attempts, now)
        log.warning("mail %s to %s not delivered: %s", row.id, row.recipient, row.last_error)
        db.session.flush()
        return FAILED
    row.sent_at = now
    row.last_error = None
    db.session.flush()
    return SENT


def deliver_each(messages: Iterable[tuple[int, str | None]], now: datetime) -> dict[str, int]:
    """Deliver messages one transaction each; count the outcomes."""
    counts = {SENT: 0, FAILED: 0, SKIPPED: 0}
    for message_id, rfc_message_id in messages:
        try:
            outcome = deliver(message_id, now, rfc_message_id=rfc_message_id)
            db.session.commit()
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
