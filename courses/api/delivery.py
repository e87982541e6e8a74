"""Sending webhook deliveries: signed, to public addresses only, with retries and backoff.

Run by the worker (`deliver_due_webhooks`), never by a web request. Each delivery is claimed
first (its next attempt moved past the time a send can take, committed), so two workers never
send the same one at once and no database transaction stays open during the HTTP call.

The receiver checks `X-Webhook-Signature: v1=<hex>`, the HMAC-SHA256 under the webhook's
secret of "<X-Webhook-Timestamp>.<body>", and drops repeats by `X-Webhook-Id`.

One attempt takes at most `DEADLINE` seconds, however the receiver dribbles its answer: the
deliveries to every other receiver wait behind it on the worker's one sender thread. Only the
answer's status counts; its body is never read, and redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import ipaddress
import logging
import socket
import ssl
import time
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
#: Seconds one attempt may take in all, from looking up the host (which cannot be cut short)
#: to the answer's status and headers. TIMEOUT bounds each wait, not their sum: a receiver
#: sending its answer a byte every few seconds would otherwise hold the sender thread, and every
#: other receiver's deliveries, for ever. docs/api.md tells partners: no answer in 10 s fails.
DEADLINE = 10
#: A claimed delivery is due again after this, should its worker die while sending: longer than
#: an attempt can take (its deadline, and a slow look-up of the host it cannot cut short).
CLAIM = timedelta(seconds=DEADLINE + TIMEOUT)
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
    deadline = _Deadline(DEADLINE)
    try:
        connection = _connection(url, deadline)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body.encode(), headers=headers)
            # Only the status counts: the body is never read (a receiver could send gigabytes,
            # slowly), and a redirect is an answer like any other non-2xx, never followed.
            response = connection.getresponse()
            return Outcome(response.status, None if 200 <= response.status < 300 else "HTTP error")
        finally:
            connection.close()
    except RefusedAddress as error:
        return Outcome(None, str(error))
    except TimeoutError as error:
        if deadline.passed:
            return Outcome(None, f"the receiver did not answer within {DEADLINE:g} s")
        return Outcome(None, f"TimeoutError: {error}"[:500])
    except (OSError, http.client.HTTPException, ValueError) as error:
        # Connection refused, TLS failure, a malformed answer: try again later. The message
        # names what went wrong, never the secret nor the body.
        return Outcome(None, f"{type(error).__name__}: {error}"[:500])


def _connection(url: str, deadline: _Deadline) -> http.client.HTTPConnection:
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
        return _PinnedHTTPS(host, port, address, deadline)
    return _PinnedHTTP(host, port, address, deadline)


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


class _Deadline:
    """The end of one attempt; each wait gets TIMEOUT or what is left, whichever is shorter."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.end

    def wait(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return min(TIMEOUT, left)


class _DeadlineSocket:
    """The connection's socket, as http.client uses it (`sendall`, `makefile("rb")`, `close`),
    with each send and read waiting at most what is left of the deadline. A socket's timeout is
    per call: this turns it into one for the whole attempt, for plain and TLS sockets alike."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        view = memoryview(data).cast("B")
        while view:
            self._sock.settimeout(self._deadline.wait())
            view = view[self._sock.send(view) :]

    def makefile(self, mode: str) -> io.BufferedReader:
        assert mode == "rb", mode
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        self._sock.close()


class _DeadlineReader(io.RawIOBase):
    """Reads of the answer (status line, headers), each cut to what is left of the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(self._deadline.wait())
        return self._sock.recv_into(buffer)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, deadline: _Deadline) -> None:
        super().__init__(host, port, timeout=TIMEOUT)
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self._deadline.wait())
        self.sock = _DeadlineSocket(sock, self._deadline)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, deadline: _Deadline) -> None:
        super().__init__(host, port, timeout=TIMEOUT, context=ssl.create_default_context())
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self._deadline.wait())
        # CPython bounds the whole TLS handshake by the socket's timeout, set here.
        sock.settimeout(self._deadline.wait())
        # The certificate is checked against the host name, as for any https:// request.
        tls = self._context.wrap_socket(sock, server_hostname=self.host)
        self.sock = _DeadlineSocket(tls, self._deadline)
