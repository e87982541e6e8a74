"""`/healthz` for load balancers and monitoring: is the database reachable, is mail going out?

Anyone may ask whether the site is up; the details (the outbox backlog and its age) are only
for monitoring on the host itself (a loopback request that no proxy forwarded) or for whoever
sends `Authorization: Bearer <HEALTHZ_TOKEN>`.
"""

from __future__ import annotations

import hmac
import logging
from ipaddress import ip_address

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from courses.clock import now
from courses.extensions import db, limiter
from courses.mail.services import backlog

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

#: A due message waiting longer than this turns the status to "degraded" (still 200: the web
#: side works): the delivery worker is not running, or the mail server does not take mail.
OUTBOX_STALE_SECONDS = 300


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 with details while the database answers; 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
        queue = backlog(now())
        db.session.rollback()
    except (DBAPIError, SQLAlchemyError) as error:
        log.error("health check: database unreachable: %s", type(error).__name__)
        db.session.rollback()
        return _answer({"status": "unavailable", "database": "unreachable"}, 503)
    waiting = queue.oldest_due_seconds
    stale = waiting is not None and waiting > OUTBOX_STALE_SECONDS
    payload: dict = {"status": "degraded" if stale else "ok", "database": "ok"}
    if may_see_details():
        payload["outbox"] = {
            "backlog": queue.pending,
            "oldest_unsent_age_seconds": queue.oldest_pending_seconds,
        }
    return _answer(payload, 200)


def may_see_details() -> bool:
    """Whether this request may see more than up/down: the right token, or the host itself."""
    expected = current_app.config.get("HEALTHZ_TOKEN") or ""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if expected and given and hmac.compare_digest(given.encode(), expected.encode()):
        return True
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False  # came through a proxy: the visitor is elsewhere
    try:
        return ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _answer(payload: dict, status: int):
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
