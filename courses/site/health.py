"""`/healthz` for load balancers and monitoring: is the database reachable, is mail going out?"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
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
    return _answer(
        {
            "status": "degraded" if stale else "ok",
            "database": "ok",
            "outbox": {
                "backlog": queue.pending,
                "oldest_unsent_age_seconds": queue.oldest_pending_seconds,
            },
        },
        200,
    )


def _answer(payload: dict, status: int):
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
