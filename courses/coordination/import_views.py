"""Completion import: upload a CSV, read the preview, apply it all-or-nothing."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from courses import clock
from courses.coordination import imports, services
from courses.coordination.blueprint import PREFIX, load_edition, me
from courses.coordination.forms import ApplyImportForm, ImportForm
from courses.extensions import db
from courses.participants.services import CompletionRefused

IMPORT_ENDPOINTS = ("coordination.import_completions", "coordination.apply_import")


def register(bp: Blueprint) -> None:
    bp.url_value_preprocessor(allow_larger_imports)
    bp.add_url_rule(
        PREFIX + "/completions/import", view_func=import_completions, methods=["GET", "POST"]
    )
    bp.add_url_rule(PREFIX + "/completions/apply", view_func=apply_import, methods=["POST"])


def allow_larger_imports(endpoint: str | None, values: dict | None) -> None:
    """Completion files may exceed the site's 64 KB form limit; raise it for those two routes.

    This runs before CSRF protection reads the form, which a before_request could not ensure.
    """
    if endpoint in IMPORT_ENDPOINTS:
        request.max_content_length = imports.MAX_BYTES * 2
        request.max_form_memory_size = imports.MAX_BYTES * 2


def import_completions(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    form = ImportForm()
    if form.validate_on_submit():
        try:
            lines = imports.read_csv(form.file.data.read(imports.MAX_BYTES + 1))
        except imports.ImportFileError as error:
            form.file.errors.append(str(error))
        else:
            return _preview(edition, lines)
    status = 400 if form.errors else 200
    return render_template("coordination/import.html", edition=edition, form=form), status


def _preview(edition, lines, error: str | None = None, status: int | None = None):
    plan = imports.plan(me(), edition, lines)
    return (
        render_template(
            "coordination/import_preview.html",
            edition=edition,
            plan=plan,
            payload=imports.sign(me(), edition, lines),
            error=error,
        ),
        status or (200 if plan.ok else 422),
    )


def apply_import(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    form = ApplyImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        lines = imports.unsign(me(), edition, form.payload.data)
    except imports.ImportFileError as error:
        flash(str(error), "error")
        return redirect(
            url_for(
                "coordination.import_completions",
                course_slug=course_slug,
                edition_slug=edition_slug,
            ),
            code=303,
        )
    # Checked again: the data may have changed since the preview.
    plan = imports.plan(me(), edition, lines)
    if not plan.ok:
        return _preview(edition, lines, _("El archivo tiene errores: no se aplicó nada."), 422)
    try:
        marked = imports.apply(plan, edition, clock.now())
    except CompletionRefused as refused:
        db.session.rollback()
        return _preview(edition, lines, refused.message, 422)
    services.record(
        me(),
        "import.completions",
        f"edition:{edition.id}",
        rows=len(plan.rows),
        marked=marked,
        people=[row.enrollment_id for row in plan.rows],
    )
    db.session.commit()
    flash(_("Importación aplicada: %(n)s módulos marcados.", n=marked), "success")
    return redirect(
        url_for("coordination.enrollments", course_slug=course_slug, edition_slug=edition_slug),
        code=303,
    )
