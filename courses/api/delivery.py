"""Sending webhook deliveries: signed, to public addresses only, with retries and backoff.

Run by the worker (`deliver_due_webhooks`), never by a web request. Each delivery is claimed
first (its next attempt moved past the time a send can take, committed), so two workers never
send the same one at once and no database transaction stays open during the HTTP call.

The receiver checks `X-Webhook-Signature: v1=<hex>`, the HMAC-SHA256 under the webhook's
secret of "<X-Webhook-Timestamp>.<body>", and drops repeats by `X-Webhook-Id`.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from courses.api.models import Webhook, WebhookDelivery
from courses.api.webhooks import address_allowed
from courses.database import read_only
from courses.extensions import db

log = logging.getLogger(__name__)

#: Wait after the 1st, 2nd, … failed attempt; the last value repeats.
BACKOFF = tuple(
    timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
)
#: Failed attempts after which a delivery is given up (about a day and a half of retries).
MAX_ATTEMPTS = 10
#: Seconds to connect, and to wait for each read of the answer (on the webhook thread of the
#: worker, courses/api/worker.py: mail never waits for a receiver).
TIMEOUT = 5
#: A claimed delivery is due again after this, should its worker die while sending.
CLAIM = timedelta(seconds=TIMEOUT * 3)
USER_AGENT = "capacitaciones-webhooks/1"


class RefusedAddress(Exception):
    """The URL's host resolves to an address webhooks may not reach."""


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature(secret: str, timestamp: int, body: str) -> str:
    """The X-Webhook-Signature value: "v1=" and the hex HMAC-SHA256 of "<timestamp>.<body>"."""
    message = f"{timestamp}.{body}".encode()
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def deliver_due_webhooks(
    now: datetime, limit: int = 100, stopping: Callable[[], bool] = lambda: False
) -> dict[str, int]:
    """Send the deliveries whose time has come (up to `limit`, until `stopping()`); counts of
    what happened."""
    counts = {"delivered": 0, "failed": 0, "given_up": 0}
    # A read that takes no lock (SQLite: plain BEGIN): a worker polls, and mostly finds nothing.
    with read_only():
        ids = list(
            db.session.scalars(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.delivered_at.is_(None),
                    WebhookDelivery.failed_at.is_(None),
                    WebhookDelivery.next_attempt_at <= now,
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            )
        )
        db.session.rollback()
    for delivery_id in ids:
        if stopping():
            break  # the rest stay due: the next worker turn (or process) takes them
        result = deliver_one(delivery_id, now)
        if result is not None:
            counts[result] += 1
    return counts


def deliver_one(delivery_id: int, now: datetime) -> str | None:
    """Claim, send and record one delivery; "delivered", "failed", "given_up" or None if
    another worker had it."""
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.failed_at.is_(None),
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + CLAIM)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    hook = db.session.get(Webhook, delivery.webhook_id)
    url, secret, body, event = hook.url, hook.secret, delivery.body, delivery.event
    event_id, active = delivery.event_id, hook.active
    db.session.commit()  # no transaction stays open while the receiver takes its time
    if not active:
        outcome = Outcome(None, "webhook deactivated")
    else:
        outcome = send(url, secret, body, event=event, event_id=event_id, now=now)
    return _record(delivery_id, outcome, now)


def _record(delivery_id: int, outcome: Outcome, now: datetime) -> str:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    delivery.attempts += 1
    delivery.last_status = outcome.status
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.delivered_at = now
        result = "delivered"
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.failed_at = now
        result = "given_up"
    else:
        delivery.next_attempt_at = now + BACKOFF[min(delivery.attempts, len(BACKOFF)) - 1]
        result = "failed"
    db.session.commit()
    return result


def send(url: str, secret: str, body: str, *, event: str, event_id: str, now: datetime) -> Outcome:
    """POST one signed body; the answer's status, or why there was none. Never raises."""
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Webhook-Event": event,
        "X-Webhook-Id": event_id,
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": signature(secret, timestamp, body),
    }
    try:
        connection = _connection(url)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            response.read(64 * 1024)  # the answer's body is not used; do not wait for more
            return Outcome(response.status, None if 200 <= response.status < 300 else "HTTP error")
        finally:
            connection.close()
    except RefusedAddress as error:
        return Outcome(None, str(error))
    except (OSError, http.client.HTTPException, ValueError) as error:
        # Connection refused, time-out, TLS failure, a malformed answer: try again later.
        return Outcome(None, f"{type(error).__name__}: {error}"[:500])


def _connection(url: str) -> http.client.HTTPConnection:
    """A connection to the address the URL's host resolves to now, checked first. It connects
    to that very address (no second look-up a DNS trick could answer differently)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    if not https and not current_app.config["WEBHOOK_ALLOW_HTTP"]:
        raise RefusedAddress("only https:// URLs")
    port = parts.port or (443 if https else 80)
    address = _resolve(host, port)
    if https:
        return _PinnedHTTPS(host, port, address, timeout=TIMEOUT)
    return _PinnedHTTP(host, port, address, timeout=TIMEOUT)


def _resolve(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise RefusedAddress(f"cannot resolve {host}: {error}") from None
    addresses = [info[4][0] for info in infos]
    for text in addresses:
        if not address_allowed(ipaddress.ip_address(text.split("%")[0])):
            raise RefusedAddress(f"{host} resolves to a non-public address ({text})")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, as for any https:// request.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
