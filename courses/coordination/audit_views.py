"""The audit log, read by admins: every coordinator action and every export, newest first."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from courses.coordination.blueprint import require_admin
from courses.coordination.models import AuditEntry
from courses.extensions import db

AUDIT_PAGE_SIZE = 100


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit", view_func=audit)


def audit():
    require_admin()
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    action = (request.args.get("action") or "").strip()[:60]
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    entries = list(
        db.session.scalars(stmt.limit(AUDIT_PAGE_SIZE + 1).offset((page - 1) * AUDIT_PAGE_SIZE))
    )
    return render_template(
        "coordination/audit.html",
        entries=entries[:AUDIT_PAGE_SIZE],
        has_more=len(entries) > AUDIT_PAGE_SIZE,
        page=page,
        action=action,
    )
