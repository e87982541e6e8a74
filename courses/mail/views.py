"""The development mailbox: `/dev/mailbox` shows what the application "sent" (never in prod)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template
from markupsafe import Markup, escape
from sqlalchemy import select

from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.mail.transport import mailbox_enabled

bp = Blueprint("mail", __name__, url_prefix="/dev/mailbox")

#: Newest messages listed; older ones are still in the database.
LISTED = 100

_URL = re.compile(r"https?://[^\s<>\"')\]]+")


@bp.before_request
def only_when_enabled() -> None:
    """The mailbox exists only where MAILBOX_ENABLED and never in production."""
    if not mailbox_enabled():
        abort(404)


def autolink(text: str) -> Markup:
    """Plain text, escaped, with its web addresses made clickable."""
    parts: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@bp.get("")
def index():
    """Messages, newest first."""
    messages = db.session.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(LISTED)
    ).all()
    return render_template("mail/mailbox.html", messages=messages)


@bp.get("/<int:message_id>")
def show(message_id: int):
    """One message: its text with clickable links (the HTML part is shown as source only)."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    return render_template("mail/message.html", message=message, body=autolink(message.body_text))
