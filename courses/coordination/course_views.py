"""Course files from the browser (admins): download the current file, upload a new one, read
what it would change, apply it all or nothing through the same loader as `flask courses load`.

The uploaded text travels from the preview to the apply step in a signed form field (never on
the local disk: any process may answer the second request) and is checked again on apply.
"""

from __future__ import annotations

import base64

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from courses.catalog import uploads
from courses.catalog.checker import CourseFileError
from courses.catalog.models import Course
from courses.coordination import services
from courses.coordination.blueprint import me, require_admin
from courses.coordination.forms import ApplyImportForm, CourseFileForm
from courses.extensions import db
from courses.i18n import format_moment

UPLOAD_ENDPOINTS = ("coordination.course_preview", "coordination.course_apply")


def register(bp: Blueprint) -> None:
    bp.url_value_preprocessor(allow_course_files)
    bp.add_url_rule("/courses", view_func=courses)
    bp.add_url_rule("/courses/preview", view_func=course_preview, methods=["POST"])
    bp.add_url_rule("/courses/apply", view_func=course_apply, methods=["POST"])
    bp.add_url_rule("/courses/<course_slug>.toml", view_func=course_file)


def allow_course_files(endpoint: str | None, values: dict | None) -> None:
    """A course file may exceed the site's 64 KB form limit (before CSRF reads the form)."""
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = uploads.MAX_BYTES * 3
        request.max_form_memory_size = uploads.MAX_BYTES * 3


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="coordination.course-file")


def _listing(form: CourseFileForm, status: int = 200, problems=None):
    all_courses = db.session.scalars(select(Course).order_by(Course.slug)).all()
    return (
        render_template(
            "coordination/courses.html", courses=all_courses, form=form, problems=problems
        ),
        status,
    )


def courses():
    require_admin()
    return _listing(CourseFileForm())


def _preview_page(spec, data: bytes, name: str):
    payload = _serializer().dumps(
        {"c": me().id, "name": name, "data": base64.b64encode(data).decode()}
    )
    preview = uploads.preview(spec)
    return render_template(
        "coordination/course_preview.html",
        preview=preview,
        edition_lines=_edition_lines(preview),
        name=name,
        payload=payload,
        form=ApplyImportForm(),
    )


def _edition_lines(preview: uploads.CoursePreview) -> list[tuple[str, bool, list]]:
    """(slug, is new, [(what, before, after)]) with values as coordinators read them."""
    labels = {
        "name": _("nombre en los certificados"),
        "registration_opens": _("abren las inscripciones"),
        "registration_closes": _("cierran las inscripciones"),
        "complete_by": _("plazo para completar"),
        "capacity": _("cupos"),
    }

    def shown(key: str, value: object) -> str:
        if value is None:
            return "—"
        if key == "capacity":
            return str(value) if value else _("sin límite")
        if key == "name":  # {es, en}; none: certificates say "Edición <slug>"
            return " / ".join(value[lang] for lang in ("es", "en") if value.get(lang)) or "—"
        return format_moment(value, preview.timezone)

    lines = []
    for change in preview.editions:
        pairs = change.after.items() if change.new else change.fields.items()
        values = [
            (
                labels[key],
                "" if change.new else shown(key, value[0]),
                shown(key, value if change.new else value[1]),
            )
            for key, value in pairs
            if not (change.new and key == "name" and not value)  # no name: nothing to say
        ]
        lines.append((change.slug, change.new, values))
    return lines


def course_preview():
    require_admin()
    form = CourseFileForm()
    if not form.validate_on_submit():
        return _listing(form, 400)
    data = form.file.data.read(uploads.MAX_BYTES + 1)
    name = form.file.data.filename or "curso.toml"
    try:
        spec = uploads.read_uploaded(data, name)
    except CourseFileError as error:
        return _listing(CourseFileForm(formdata=None), 422, error.problems)
    return _preview_page(spec, data, spec.file)


def course_apply():
    require_admin()
    form = ApplyImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        signed = _serializer().loads(form.payload.data)
        if signed.get("c") != me().id:
            raise BadSignature("another coordinator's upload")
        data = base64.b64decode(signed["data"])
    except (BadSignature, KeyError, ValueError):
        flash(_("Los datos del archivo no son válidos. Vuelve a subirlo."), "error")
        return redirect(url_for("coordination.courses"), code=303)
    try:
        # Checked again: the database may have changed since the preview.
        spec = uploads.read_uploaded(data, signed.get("name") or "curso.toml")
        summary = uploads.preview(spec)
        result = uploads.apply(spec, data)
    except CourseFileError as error:
        db.session.rollback()
        return _listing(CourseFileForm(formdata=None), 422, error.problems)
    services.record(
        me(),
        "course.load",
        f"course:{summary.slug}",
        file=spec.file,
        outcome=result.outcome,
        new_modules=[position for position, _title in summary.new_modules],
        renamed_modules=[position for position, _old, _new in summary.renamed_modules],
        removed_modules=summary.removed_modules,
        editions=[change.slug for change in summary.editions],
        settings=summary.settings,
    )
    db.session.commit()
    flash(
        _("Archivo %(file)s aplicado al curso %(slug)s.", file=spec.file, slug=spec.slug), "success"
    )
    return redirect(url_for("coordination.courses"), code=303)


def course_file(course_slug: str):
    require_admin()
    course = db.session.scalar(select(Course).where(Course.slug == course_slug))
    if course is None or not course.source_toml:
        abort(404)
    return Response(
        course.source_toml.encode("utf-8"),
        mimetype="application/toml",
        headers={
            "Content-Disposition": f'attachment; filename="{course.slug}.toml"',
            "Cache-Control": "no-store",
        },
    )
