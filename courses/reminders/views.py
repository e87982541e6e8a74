"""`/reminders/stop/<token>`: stop reminders in one click, from the e-mail or the mail program.

GET shows a button (link scanners and previews follow links: a GET never changes anything);
POST stops them at once. The POST needs no CSRF token: mail programs send it by themselves
(RFC 8058 "List-Unsubscribe=One-Click"), and the signed token in the address is the
authority; the worst a forged POST can do is stop someone's reminders.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from courses import clock
from courses.extensions import csrf, db
from courses.reminders import job

bp = Blueprint("reminders", __name__, url_prefix="/reminders")


def _enrollment_id(token: str) -> int:
    enrollment_id = job.enrollment_for_stop_token(token) if len(token) <= 200 else None
    if enrollment_id is None:
        abort(404)
    return enrollment_id


@bp.get("/stop/<token>")
def stop_page(token: str):
    _enrollment_id(token)
    return render_template("reminders/stop.html", token=token, stopped=False)


@bp.post("/stop/<token>")
@csrf.exempt
def stop(token: str):
    job.stop(_enrollment_id(token), clock.now())
    db.session.commit()
    return render_template("reminders/stop.html", token=token, stopped=True)
