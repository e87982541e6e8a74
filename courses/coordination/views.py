"""Coordinator pages: login, the editions in scope, the enrollee list and its exports.

Every route needs a logged-in coordinator (checked once for the blueprint), loads what it
needs through the scope functions in services, and answers 404 for anything outside the scope.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from courses import clock, limits
from courses.catalog.models import Course, Edition
from courses.coordination import exports, listing, services
from courses.coordination.forms import ActionForm, CoordinatorForm, LoginForm, PasswordForm
from courses.coordination.models import AuditEntry, Coordinator
from courses.database import writing
from courses.extensions import db, limiter, login_manager
from courses.i18n import country_name, format_moment

bp = Blueprint("coordination", __name__, url_prefix="/coordinator")

AUDIT_PAGE_SIZE = 100


@login_manager.user_loader
def load_coordinator(user_id: str) -> Coordinator | None:
    """The session's coordinator, unless deactivated or the password changed since login."""
    number, _, fingerprint = user_id.partition(".")
    if not number.isdigit():
        return None
    coordinator = db.session.get(Coordinator, int(number))
    if coordinator is None or not coordinator.active or coordinator.get_id() != user_id:
        return None
    return coordinator


@bp.before_request
def require_login():
    """Every coordinator page needs a login; the login page itself excepted."""
    if request.endpoint == "coordination.login":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.app_template_filter("coordination_moment")
def moment_filter(instant: datetime | None, timezone: str) -> str:
    """A date and time in the course's zone for lists ("21 jul 2023, 14:05")."""
    return format_moment(instant, timezone) if instant else ""


def me() -> Coordinator:
    """The logged-in coordinator (the real object, not the proxy)."""
    return current_user._get_current_object()


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


def require_admin() -> None:
    if me().role != "admin":
        abort(404)


def _safe_next(target: str | None) -> str:
    """Only go back to a coordinator page on this site (never an open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/coordinator/"):
            return target
    return url_for("coordination.index")


# --- accounts ----------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(limits.LOGIN_PER_CLIENT, methods=["POST"])
@limiter.limit(limits.LOGIN_PER_ACCOUNT, key_func=limits.form_email_key, methods=["POST"])
def login():
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        coordinator = services.authenticate(form.email.data, form.password.data)
        now = clock.now()
        if coordinator is not None:
            # A fresh session: nothing from before the login (a planted cookie) survives it.
            session.clear()
            g.pop("csrf_token", None)  # it belonged to the cleared session
            login_user(coordinator)
            coordinator.last_login_at = now
            services.record(coordinator, "login")
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")), code=303)
        failed = True
        services.record(form.email.data.strip().lower(), "login.failed")
        db.session.commit()
    status = 401 if failed else (400 if form.errors else 200)
    return render_template("coordination/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        services.record(me(), "logout")
        db.session.commit()
        logout_user()
        session.clear()
        g.pop("csrf_token", None)
    return redirect(url_for("coordination.login"), code=303)


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(me(), form.current.data, form.new.data)
        except services.CoordinatorError as error:
            form.current.errors.append(str(error))
        else:
            services.record(me(), "password.change")
            db.session.commit()
            login_user(me())  # this session follows the new password; others end
            flash(_("Tu contraseña fue cambiada."), "success")
            return redirect(url_for("coordination.index"), code=303)
    status = 400 if form.errors else 200
    return render_template("coordination/password.html", form=form), status


# --- editions and the enrollee list ------------------------------------------------------


@bp.get("/")
def index():
    editions = services.visible_editions(me())
    country = country_name(me().country) if me().country else ""
    return render_template("coordination/index.html", editions=editions, country=country)


def _list_context(edition: Edition, filters: listing.ListFilters) -> dict:
    stmt = listing.filtered(me(), edition, filters)
    total = listing.count(stmt)
    pages = max(1, -(-total // listing.PAGE_SIZE))
    countries = edition.course.countries if me().role != "country" else [me().country]
    return {
        "edition": edition,
        "course": edition.course,
        "filters": filters,
        "rows": listing.page(stmt, min(filters.page, pages)),
        "total": total,
        "pages": pages,
        "current_page": min(filters.page, pages),
        "modules_total": len(edition.course.modules),
        "status_labels": services.status_labels(),
        "countries": [(code, country_name(code)) for code in countries],
        "sorts": listing.SORTS,
        "format_code": exports.format_code,
        "tz": edition.course.timezone,
    }


@bp.get("/<course_slug>/<edition_slug>/enrollments")
def enrollments(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    filters = listing.ListFilters.from_args(request.args)
    return render_template("coordination/enrollments.html", **_list_context(edition, filters))


def record_from_get(action: str, target: str, **details: object) -> None:
    """Audit a download (a GET) and commit, starting a fresh transaction for the write.

    GET requests open read transactions on SQLite (courses/database.py); in WAL mode a read
    transaction cannot become a write once another process has committed since it began, so
    the reads are ended first and the audit entry is written in a transaction of its own.
    """
    actor = me()
    db.session.commit()
    with writing():
        services.record(actor, action, target, **details)
        db.session.commit()


def _audit_export(edition: Edition, kind: str, filters: listing.ListFilters, rows: int) -> None:
    record_from_get(
        f"export.{kind}",
        f"edition:{edition.id}",
        course=edition.course.slug,
        edition=edition.slug,
        filters=filters.described(),
        rows=rows,
    )


@bp.get("/<course_slug>/<edition_slug>/enrollments.csv")
def export_csv(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    filters = listing.ListFilters.from_args(request.args)
    stmt = listing.filtered(me(), edition, filters)
    _audit_export(edition, "csv", filters, listing.count(stmt))
    delimiter = ";" if request.args.get("sep") == "semicolon" else ","
    name = exports.file_name(edition, clock.now(), "csv")
    formatter = exports.RowFormatter(edition)
    return Response(
        stream_with_context(exports.csv_chunks(stmt, formatter, delimiter)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/<course_slug>/<edition_slug>/enrollments.xlsx")
def export_xlsx(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    filters = listing.ListFilters.from_args(request.args)
    stmt = listing.filtered(me(), edition, filters)
    _audit_export(edition, "xlsx", filters, listing.count(stmt))
    spool = exports.spooled_xlsx(stmt, exports.RowFormatter(edition))
    name = exports.file_name(edition, clock.now(), "xlsx")
    return Response(
        exports.file_chunks(spool),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


# --- audit log ---------------------------------------------------------------------------


@bp.get("/audit")
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


# --- accounts (admins) -------------------------------------------------------------------


@bp.route("/accounts", methods=["GET", "POST"])
def accounts():
    require_admin()
    form = CoordinatorForm()
    form.courses.choices = [
        SelectChoice(slug) for slug in db.session.scalars(select(Course.slug).order_by(Course.slug))
    ]
    if form.validate_on_submit():
        try:
            created = services.create_coordinator(
                form.email.data,
                form.password.data,
                form.role.data,
                course_slug=form.courses.data if form.role.data == "course" else None,
                country=form.country.data or None if form.role.data == "country" else None,
                now=clock.now(),
            )
        except services.CoordinatorError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        else:
            services.record(
                me(),
                "coordinator.create",
                f"coordinator:{created.id}",
                email=created.email,
                role=created.role,
                country=created.country,
                courses=[course.slug for course in created.courses],
            )
            db.session.commit()
            flash(_("Cuenta creada para %(email)s.", email=created.email), "success")
            return redirect(url_for("coordination.accounts"), code=303)
    people = db.session.scalars(select(Coordinator).order_by(Coordinator.email)).all()
    return (
        render_template(
            "coordination/accounts.html", form=form, people=people, action_form=ActionForm()
        ),
        400 if form.errors else 200,
    )


@bp.post("/accounts/<int:coordinator_id>/active")
def toggle_active(coordinator_id: int):
    require_admin()
    other = db.session.get(Coordinator, coordinator_id)
    if other is None:
        abort(404)
    if not ActionForm().validate_on_submit() or other.id == me().id:
        abort(400)
    other.active = not other.active
    services.record(
        me(),
        "coordinator.active",
        f"coordinator:{other.id}",
        before=not other.active,
        after=other.active,
    )
    db.session.commit()
    return redirect(url_for("coordination.accounts"), code=303)
