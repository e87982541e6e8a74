"""Webhooks: registering them, and the events the services raise.

`emit` is called by the service that causes an event (registration, completion, certificate
issued or revoked). It only adds delivery rows to the session, so they are committed in the
same transaction as the change itself: no event about something that did not happen, nor a
change without its event. The worker sends them afterwards (`courses.api.delivery`).
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import datetime
from typing import get_args
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from courses.api import schemas
from courses.api.models import Webhook, WebhookDelivery
from courses.certificates.codes import format_code
from courses.certificates.models import Certificate
from courses.database import plain_rows
from courses.extensions import db
from courses.mail.services import notify_workers
from courses.registration.models import WAITING, Enrollment

#: registration.created, enrollment.completed, certificate.issued, certificate.revoked.
EVENTS: tuple[str, ...] = get_args(schemas.EventType)
SECRET_MIN = 16


class WebhookError(ValueError):
    """A webhook cannot be registered as asked; the message says why."""


def check_url(url: str) -> str:
    """The URL, trimmed, if a webhook may point at it (https:// outside development and tests;
    no user name or password; not a literal loopback, private or link-local address)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    allowed = ("https", "http") if current_app.config["WEBHOOK_ALLOW_HTTP"] else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise WebhookError(_("La dirección debe empezar por https://."))
    if parts.username or parts.password:
        raise WebhookError(_("La dirección no puede llevar usuario ni contraseña."))
    if len(url) > 500:
        raise WebhookError(_("La dirección es demasiado larga."))
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url  # a name: its addresses are checked each time it is called
    if not address_allowed(address):
        raise WebhookError(_("La dirección no puede ser local ni de una red privada."))
    return url


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Only public addresses: never loopback, private, link-local (cloud metadata), multicast,
    reserved or unspecified ones. Loopback only where WEBHOOK_ALLOW_LOOPBACK (tests)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return bool(current_app.config["WEBHOOK_ALLOW_LOOPBACK"])
    return address.is_global and not address.is_multicast


def register_webhook(
    url: str, secret: str, events: list[str], *, created_by: int | None, now: datetime
) -> Webhook:
    """Add a webhook after checking its URL, secret and events; flush only."""
    clean_url = check_url(url)
    if len(secret or "") < SECRET_MIN or len(secret) > 200:
        raise WebhookError(_("El secreto debe tener entre %(n)s y 200 caracteres.", n=SECRET_MIN))
    chosen = [event for event in EVENTS if event in set(events or [])]
    if not chosen:
        raise WebhookError(_("Elige al menos un evento."))
    webhook = Webhook(
        url=clean_url, secret=secret, events=chosen, created_at=now, created_by_id=created_by
    )
    db.session.add(webhook)
    db.session.flush()
    return webhook


#: Every active webhook's id and events. Core, as plain rows: every registration asks, and
#: usually there are none or a few (ORM objects for them cost more than the query).
_ACTIVE = select(Webhook.__table__.c.id, Webhook.__table__.c.events).where(
    Webhook.__table__.c.active.is_(True)
)


def emit(
    event: str, enrollment: Enrollment, now: datetime, certificate: Certificate | None = None
) -> int:
    """Queue `event` about `enrollment` for every active webhook that wants it; how many."""
    assert event in EVENTS, event
    db.session.flush()  # as the ORM query did before: what the event is about has its id
    active = plain_rows(db.session, _ACTIVE, {})
    hooks = [hook_id for hook_id, events in active if event in (events or [])]
    if not hooks:
        return 0
    event_id = str(uuid.uuid4())
    body = json.dumps(
        _event(event_id, event, enrollment, certificate, now).model_dump(mode="json"),
        ensure_ascii=False,
        separators=(",", ":"),
    )
    for hook_id in hooks:
        db.session.add(
            WebhookDelivery(
                webhook_id=hook_id,
                event_id=event_id,
                event=event,
                body=body,
                enrollment_id=enrollment.id,
                created_at=now,
                next_attempt_at=now,
            )
        )
    db.session.flush()
    notify_workers()  # on PostgreSQL the worker wakes when this transaction commits
    return len(hooks)


def _event(
    event_id: str,
    event: str,
    enrollment: Enrollment,
    cert: Certificate | None,
    now: datetime,
) -> schemas.WebhookEvent:
    # Imported here: certificates.services calls `emit`, so it cannot be imported at the top.
    from courses.certificates.services import certificate_state, verify_url

    edition = enrollment.edition
    certificate = None
    if cert is not None:
        certificate = schemas.EventCertificate(
            code=format_code(cert.code),
            state=certificate_state(cert),
            issued_at=cert.issued_at,
            revoked_at=cert.revoked_at,
            verify_url=verify_url(cert.code),
        )
    return schemas.WebhookEvent(
        id=event_id,
        type=event,
        created_at=now,
        data=schemas.EventData(
            enrollment=schemas.EventEnrollment(
                id=enrollment.id,
                course=edition.course.slug,
                edition=edition.slug,
                name=enrollment.name,
                email=enrollment.email,
                phone=enrollment.phone or None,
                country=enrollment.country,
                organization=enrollment.organization,
                waiting=enrollment.status == WAITING,
                registered_at=enrollment.created_at,
                completed_at=enrollment.completed_at,
            ),
            certificate=certificate,
        ),
    )


def send_again(delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """A new delivery of the same event (same id and body), due now; the log keeps both."""
    copy = WebhookDelivery(
        webhook_id=delivery.webhook_id,
        event_id=delivery.event_id,
        event=delivery.event,
        body=delivery.body,
        enrollment_id=delivery.enrollment_id,
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(copy)
    db.session.flush()
    return copy
