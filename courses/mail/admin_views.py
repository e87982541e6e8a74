"""`/coordinator/mail`: for admins, the messages that did not go out (failed or long waiting)."""

from __future__ import annotations

from flask import Blueprint, render_template

from courses import clock
from courses.coordination.blueprint import require_admin
from courses.mail import status
from courses.mail.services import backlog


def mail_problems():
    require_admin()
    now = clock.now()
    return render_template(
        "mail/problems.html", lines=status.troubled(now), backlog=backlog(now), timezone="UTC"
    )


def register(bp: Blueprint) -> None:
    """Add the page to the coordinator blueprint (login required there)."""
    bp.add_url_rule("/mail", "mail_problems", mail_problems)
