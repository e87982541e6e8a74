"""`/healthz` for load balancers and monitoring: is the database reachable, is mail going out?"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from courses.clock import now
from courses.extensions import db, limiter
from courses.mail.models import OutboxMessage

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

#: Unsent mail older than this turns the status to "degraded" (still 200: the web side works).
OUTBOX_STALE_SECONDS = 3600


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 with details while the database answers; 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
        backlog, oldest = db.session.execute(
            select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)
            )
        ).one()
        db.session.rollback()
    except (DBAPIError, SQLAlchemyError) as error:
        log.error("health check: database unreachable: %s", type(error).__name__)
        db.session.rollback()
        return _answer({"status": "unavailable", "database": "unreachable"}, 503)
    age = None if oldest is None else max(0, int((now() - oldest).total_seconds()))
    stale = age is not None and age > OUTBOX_STALE_SECONDS
    return _answer(
        {
            "status": "degraded" if stale else "ok",
            "database": "ok",
            "outbox": {"backlog": backlog, "oldest_unsent_age_seconds": age},
        },
        200,
    )


def _answer(payload: dict, status: int):
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
