"""The coordinator blueprint and what every coordinator page shares.

Every page needs a logged-in coordinator (checked once, here), loads what it shows through the
scope functions in services, and answers 404 for anything outside the scope. The view modules
(`*_views.py`) each add their routes with a `register(bp)` function called from `init_app`;
none imports another.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from courses import clock
from courses.catalog.models import Course, Edition
from courses.coordination import services, sessions
from courses.coordination.models import Coordinator
from courses.database import write_apart
from courses.extensions import db, login_manager
from courses.i18n import format_moment, localized
from courses.registration.models import Enrollment

#: The URL of one edition's pages, below the blueprint's /coordinator.
PREFIX = "/<course_slug>/<edition_slug>"


def create_blueprint() -> Blueprint:
    """A fresh blueprint for one application (routes are added by the view modules)."""
    bp = Blueprint("coordination", __name__, url_prefix="/coordinator")
    bp.before_request(require_login)
    bp.after_request(never_stored)
    bp.add_app_template_filter(moment_filter, "coordination_moment")
    bp.add_app_template_global(edition_name, "edition_name")
    return bp


def require_login():
    """Every coordinator page needs a login; the login page itself excepted."""
    if request.endpoint == "coordination.login":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    sessions.touch(clock.now())
    return None


def never_stored(response: Response) -> Response:
    """Coordinator pages hold personal data: no browser history, proxy or shared cache keeps
    them (a coordinator on a shared computer logs out; the back button shows nothing)."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def moment_filter(instant: datetime | None, timezone: str) -> str:
    """A date and time in the course's zone for lists ("21 jul 2023, 14:05")."""
    return format_moment(instant, timezone) if instant else ""


def edition_name(edition: Edition) -> str:
    """How coordinators name an edition: the course's title and the edition, not slugs."""
    return _(
        "%(course)s · edición %(edition)s",
        course=localized(edition.course.title),
        edition=edition.slug,
    )


def me() -> Coordinator:
    """The logged-in coordinator (the real object, not the proxy)."""
    return current_user._get_current_object()


def require_admin() -> None:
    if me().role != "admin":
        abort(404)


def load_edition(course_slug: str, edition_slug: str) -> Edition:
    """The edition named in the URL, or 404 if it does not exist or is outside the scope."""
    edition = db.session.scalar(
        select(Edition)
        .join(Edition.course)
        .where(Course.slug == course_slug, Edition.slug == edition_slug)
    )
    if edition is None or not services.can_see_course(me(), edition.course):
        abort(404)
    return edition


def load_enrollee(edition: Edition, enrollment_id: int) -> Enrollment:
    """An enrollee of the edition within the coordinator's scope, or 404."""
    person = services.find_scoped_enrollment(me(), edition, enrollment_id)
    if person is None:
        abort(404)
    return person


def record_from_get(action: str, target: str, **details: object) -> None:
    """Audit a download (a GET) and commit it, in a short write transaction of its own.

    GET requests open read transactions on SQLite (courses/database.py); in WAL mode a read
    transaction cannot become a write once another process has committed since it began, and
    an export reads at length (a stream, a ZIP of PDFs) without holding the write lock.
    """
    actor = me()
    with write_apart(db.session):
        services.record(actor, action, target, **details)
