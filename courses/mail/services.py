"""The outbox: queue a message with what caused it; the worker delivers it after the commit.

A message is a row first. It is committed in the same transaction as the registration (or
certificate…) that caused it, so there is never a mail about something that did not happen,
nor something that happened without its mail. Web processes never talk to the mail server:
`flask --app wsgi outbox work` (courses.worker) delivers, through `courses.mail.delivery`.
On PostgreSQL the insert also sends a NOTIFY, delivered to the listening workers only when
the transaction commits, so they wake at once; on SQLite they poll. A job that queues thousands
renders them before its writing transaction (`render_emails`, `prepare_email`) and queues them
in it in bulk (`queue_prepared`).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from jinja2 import TemplateNotFound
from sqlalchemy import func, insert, select
from sqlalchemy import text as sql

from courses.addresses import normalise_address
from courses.extensions import db
from courses.mail.models import OutboxMessage

log = logging.getLogger(__name__)

#: The PostgreSQL channel workers LISTEN on; a NOTIFY means "new mail committed".
CHANNEL = "courses_outbox"
#: Messages anyone can make us send to an address by typing it in a form: at most
#: `CAP_PER_DAY` of them a day to one inbox, so nobody can flood someone's inbox through us.
CAPPED_KINDS = ("already-registered", "lost-link")
CAP_PER_DAY = 3


def recipient_key(address: str) -> str:
    """One key per inbox (`courses.addresses.normalise_address`, as the rate limits count).

    `MARIA@Example.org`, `ｍａｒｉａ@ｅｘａｍｐｌｅ.org` and `josé@bücher.example` against
    `JOSÉ@xn--bcher-kva.example` each reach one inbox and get one key. For counting only:
    the message still goes to the address as stored.
    """
    return normalise_address(address)


def over_cap(kind: str, key: str, now: datetime) -> bool:
    """Whether a message of a capped kind to this inbox would be one too many today."""
    if kind not in CAPPED_KINDS:
        return False
    if db.session.get_bind().dialect.name == "postgresql":
        # Two requests for the same inbox at once count one after the other (SQLite writers
        # are serialised already by BEGIN IMMEDIATE).
        db.session.execute(sql("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    sent = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.recipient_key == key,
            OutboxMessage.kind.in_(CAPPED_KINDS),
            OutboxMessage.created_at > now - timedelta(days=1),
        )
    )
    return (sent or 0) >= CAP_PER_DAY


#: A rendered message: subject, plain text, HTML (or None).
Rendered = tuple[str, str, str | None]


def render_email(template: str, language: str, context: dict) -> Rendered:
    """Render `<template>.txt` (first line "Subject: …") and the optional `<template>.html`."""
    return render_emails(template, language, [context])[0]


def render_emails(template: str, language: str, contexts: Iterable[dict]) -> list[Rendered]:
    """`render_email` for many messages in one language: the locale forced and the templates
    looked up once, not per message (a job renders thousands)."""
    env = current_app.jinja_env
    # The Jinja environment is used directly (no context processors): mail is also rendered
    # by CLI commands, where there is no request to build page links from.
    with force_locale(language):
        text_template = env.get_template(f"{template}.txt")
        try:
            html_template = env.get_template(f"{template}.html")
        except TemplateNotFound:
            html_template = None
        rendered = []
        for context in contexts:
            raw = text_template.render(language=language, **context)
            html = None
            if html_template is not None:
                html = html_template.render(language=language, **context).strip() or None
            first, _, rest = raw.lstrip().partition("\n")
            if not first.startswith("Subject:"):
                raise ValueError(f"{template}.txt must start with a 'Subject: …' line")
            rendered.append((first.removeprefix("Subject:").strip(), rest.strip("\n") + "\n", html))
    return rendered


def new_message_id(kind: str) -> str:
    """A unique RFC 5322 Message-ID on this site's domain."""
    domain = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    # Short enough that the header is never folded: some readers keep the fold's space.
    return f"<{uuid.uuid4().hex}.{re.sub(r'[^a-z0-9-]', '', kind.lower())[:20]}@{domain}>"


@dataclass(frozen=True)
class PreparedEmail:
    """A message rendered ahead of the transaction that queues it: an outbox row but for the
    instants, which `queue_prepared` (or `queue_email`) sets."""

    message_id: str
    kind: str
    recipient: str
    recipient_key: str
    subject: str
    body_text: str
    body_html: str | None
    enrollment_id: int | None
    headers: dict[str, str] | None

    def row(self, now: datetime) -> dict:
        """The outbox row's columns, queued at `now`."""
        return {
            "message_id": self.message_id,
            "kind": self.kind,
            "recipient": self.recipient,
            "recipient_key": self.recipient_key,
            "subject": self.subject[:300],
            "body_text": self.body_text,
            "body_html": self.body_html,
            "enrollment_id": self.enrollment_id,
            "headers": self.headers or None,
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
        }


def prepare_email(
    *,
    kind: str,
    recipient: str,
    rendered: Rendered,
    enrollment_id: int | None = None,
    headers: dict[str, str] | None = None,
) -> PreparedEmail:
    """A rendered message (`render_email`/`render_emails`) ready to be queued; reads nothing."""
    subject, text, html = rendered
    return PreparedEmail(
        message_id=new_message_id(kind),
        kind=kind,
        recipient=recipient,
        recipient_key=recipient_key(recipient),
        subject=subject,
        body_text=text,
        body_html=html,
        enrollment_id=enrollment_id,
        headers=headers,
    )


def queue_email(
    *,
    kind: str,
    recipient: str,
    template: str,
    language: str,
    now: datetime,
    enrollment_id: int | None = None,
    headers: dict[str, str] | None = None,
    rendered: Rendered | None = None,
    **context,
) -> OutboxMessage | None:
    """Render a message in `language` and add it to the outbox (flush only).

    `rendered`: what `render_email(template, language, context)` gave earlier, so that a
    request can render before it takes SQLite's write lock. Returns None, queueing nothing,
    when a message of a capped kind would exceed the recipient's daily cap (the caller answers
    the visitor the same either way).
    """
    if over_cap(kind, recipient_key(recipient), now):
        log.info("outbox: %s not queued, the recipient's daily cap is reached", kind)
        return None
    prepared = prepare_email(
        kind=kind,
        recipient=recipient,
        rendered=rendered or render_email(template, language, context),
        enrollment_id=enrollment_id,
        headers=headers,
    )
    message = OutboxMessage(**prepared.row(now))
    db.session.add(message)
    db.session.flush()
    notify_workers()
    return message


#: Rows per executemany of `queue_prepared`: the rows' dicts are built a chunk at a time.
INSERT_CHUNK = 1000


def queue_prepared(messages: Sequence[PreparedEmail], now: datetime) -> int:
    """Add prepared messages to the outbox in bulk (flush only) and wake the workers once.

    For jobs that queue thousands (reminders): one executemany INSERT per `INSERT_CHUNK`
    messages instead of a flush, a cap check and a NOTIFY each; the rows are those
    `queue_email` writes. Capped kinds are refused: their cap is counted one message at a time
    (`over_cap`), so they go through `queue_email`. Returns how many were queued.
    """
    if any(message.kind in CAPPED_KINDS for message in messages):
        raise ValueError("capped kinds are queued one by one, with queue_email")
    table = OutboxMessage.__table__
    for start in range(0, len(messages), INSERT_CHUNK):
        chunk = messages[start : start + INSERT_CHUNK]
        db.session.execute(insert(table), [message.row(now) for message in chunk])
    if messages:
        notify_workers()
    return len(messages)


def notify_workers() -> None:
    """Wake the delivery workers when this transaction commits (PostgreSQL; no-op on SQLite).

    NOTIFY is transactional: a rolled-back registration wakes nobody, and several NOTIFYs of one
    transaction reach each listener as one.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sql(f"NOTIFY {CHANNEL}"))


def pending_count() -> int:
    """How many messages are still to be sent (due or waiting for their retry time)."""
    query = select(func.count()).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)
    )
    return db.session.scalar(query) or 0


@dataclass(frozen=True)
class Backlog:
    """The state of the queue at one instant (`outbox status`, `/healthz`)."""

    #: Pending messages whose time has come (nobody is sending them yet).
    due: int
    #: Pending messages waiting for their retry time.
    waiting: int
    #: Messages a sender holds right now.
    in_flight: int
    #: Messages given up (refused for good, or too many failed attempts), all time.
    given_up: int
    #: Seconds the oldest due message has waited since it was due (None: nothing due).
    oldest_due_seconds: int | None
    #: Seconds since the oldest pending message was queued (None: nothing pending).
    oldest_pending_seconds: int | None

    @property
    def pending(self) -> int:
        return self.due + self.waiting + self.in_flight


def backlog(now: datetime) -> Backlog:
    """Count the queue by state, in one query."""
    pending = (OutboxMessage.sent_at.is_(None)) & (OutboxMessage.failed_at.is_(None))
    held = pending & (OutboxMessage.claimed_until > now)
    free = pending & (OutboxMessage.claimed_until.is_(None) | (OutboxMessage.claimed_until <= now))
    due = free & (OutboxMessage.next_attempt_at <= now)
    row = db.session.execute(
        select(
            func.count().filter(due),
            func.count().filter(free & (OutboxMessage.next_attempt_at > now)),
            func.count().filter(held),
            func.count().filter(OutboxMessage.failed_at.is_not(None)),
            func.min(OutboxMessage.next_attempt_at).filter(due),
            func.min(OutboxMessage.created_at).filter(pending),
        ).select_from(OutboxMessage)
    ).one()

    def age(instant: datetime | None) -> int | None:
        return None if instant is None else max(0, int((now - instant).total_seconds()))

    return Backlog(row[0], row[1], row[2], row[3], age(row[4]), age(row[5]))
