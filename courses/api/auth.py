"""Bearer-token authentication for the API, and the rate-limit key of each request."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, request
from flask_limiter.util import get_remote_address

from courses import clock
from courses.api import tokens
from courses.api.models import ApiToken
from courses.api.problems import problem
from courses.coordination.services import record
from courses.database import write_apart
from courses.extensions import db

#: `last_used_at` is written at most this often per token: a sync of many pages is one use,
#: and the API's GETs stay reads almost always.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def bearer() -> str | None:
    """The token in `Authorization: Bearer …`, if the request has one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def rate_limit_key() -> str:
    """Count requests per token (its hash, never the token), else per client address."""
    token = bearer()
    if token:
        return "api-token:" + tokens.hash_token(token)[:32]
    return "api-client:" + get_remote_address()


def current_token() -> ApiToken:
    """The token that authenticates this request; 401 without a usable one. Its `coordinator`
    is whose scope the request has."""
    token = bearer()
    now = clock.now()
    row = tokens.find_usable(token, now) if token else None
    if row is None:
        # One answer for missing, unknown, revoked and expired: nothing to learn by probing.
        abort(problem(401, "Send a valid API token: Authorization: Bearer cap_…"))
    _note_use(row, now)
    return row


def audit_read(row: ApiToken, action: str, target: str, **details: object) -> None:
    """Audit a read of personal data through the API, as the coordinator's exports are (flush
    only: the view, declared `database.writes`, commits)."""
    record(row.coordinator, action, target, token=row.id, **details)


def _note_use(row: ApiToken, now: datetime) -> None:
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_GRANULARITY:
        return
    token_id = row.id
    # Once a minute per token: a transaction of its own, so the API's reads take no lock.
    with write_apart(db.session):
        fresh = db.session.get(ApiToken, token_id)
        fresh.last_used_at = now
