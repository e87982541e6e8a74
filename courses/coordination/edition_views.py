"""Coordinator actions on one edition: a participant's modules, completion import, dates and
capacity, and the dashboard. Routes attach to the blueprint defined in views.py."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from courses import clock
from courses.coordination import dashboard as charts
from courses.coordination import editions, imports, services
from courses.coordination.forms import ActionForm, ApplyImportForm, EditionForm, ImportForm
from courses.coordination.views import bp, load_edition, me
from courses.extensions import db
from courses.i18n import country_name
from courses.participants import services as participants
from courses.participants.services import CompletionRefused

PREFIX = "/<course_slug>/<edition_slug>"
IMPORT_ENDPOINTS = ("coordination.import_completions", "coordination.apply_import")


@bp.url_value_preprocessor
def allow_larger_imports(endpoint: str | None, values: dict | None) -> None:
    """Completion files may exceed the site's 64 KB form limit; raise it for those two routes.

    This runs before CSRF protection reads the form, which a before_request could not ensure.
    """
    if endpoint in IMPORT_ENDPOINTS:
        request.max_content_length = imports.MAX_BYTES * 2
        request.max_form_memory_size = imports.MAX_BYTES * 2


# --- one participant ---------------------------------------------------------------------


@bp.get(PREFIX + "/enrollments/<int:enrollment_id>")
def enrollment(course_slug: str, edition_slug: str, enrollment_id: int):
    edition = load_edition(course_slug, edition_slug)
    person = services.find_scoped_enrollment(me(), edition, enrollment_id)
    if person is None:
        abort(404)
    done = participants.completions(person)
    return render_template(
        "coordination/enrollment.html",
        edition=edition,
        person=person,
        modules=[(m, done.get(m.id)) for m in edition.course.modules],
        status=services.status_labels()[services.enrollment_status(person)],
        country=country_name(person.country),
        form=ActionForm(),
    )


@bp.post(PREFIX + "/enrollments/<int:enrollment_id>/modules/<int:position>")
def set_module(course_slug: str, edition_slug: str, enrollment_id: int, position: int):
    edition = load_edition(course_slug, edition_slug)
    person = services.find_scoped_enrollment(me(), edition, enrollment_id)
    module = next((m for m in edition.course.modules if m.position == position), None)
    if person is None or module is None:
        abort(404)
    form = ActionForm()
    action = request.form.get("action")
    if not form.validate_on_submit() or action not in ("mark", "unmark"):
        abort(400)
    now = clock.now()
    before = services.enrollment_status(person)
    try:
        if action == "mark":
            participants.mark_module(person, module, source="coordinator", now=now)
        else:
            participants.unmark_module(person, module, now=now)
    except CompletionRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        services.record(
            me(),
            f"module.{action}",
            f"enrollment:{person.id}",
            module=position,
            status_before=before,
            status_after=services.enrollment_status(person),
        )
        db.session.commit()
        flash(_("Módulo %(n)s actualizado.", n=position), "success")
    return redirect(
        url_for(
            "coordination.enrollment",
            course_slug=course_slug,
            edition_slug=edition_slug,
            enrollment_id=enrollment_id,
        ),
        code=303,
    )


# --- completion import -------------------------------------------------------------------


@bp.route(PREFIX + "/completions/import", methods=["GET", "POST"])
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


@bp.post(PREFIX + "/completions/apply")
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


# --- dates and capacity ------------------------------------------------------------------


@bp.route(PREFIX + "/settings", methods=["GET", "POST"])
def edit_edition(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    if not services.can_manage_edition(me(), edition):
        abort(404)
    timezone = edition.course.timezone
    form = EditionForm(
        data=None
        if request.method == "POST"
        else {
            "registration_opens": editions.first_day(edition.registration_opens, timezone),
            "registration_closes": editions.last_day(edition.registration_closes, timezone),
            "complete_by": editions.last_day(edition.complete_by, timezone),
            "capacity": edition.capacity,
        }
    )
    if form.validate_on_submit():
        try:
            change = editions.update_edition(
                edition,
                opens=form.registration_opens.data,
                closes=form.registration_closes.data,
                complete_by=form.complete_by.data,
                capacity=form.capacity.data,
                now=clock.now(),
            )
        except editions.EditionError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(error.message)
        else:
            services.record(
                me(),
                "edition.update",
                f"edition:{edition.id}",
                before=change.before,
                after=change.after,
                promoted=change.promoted,
            )
            db.session.commit()
            flash(_("Edición actualizada."), "success")
            if change.promoted:
                flash(
                    _(
                        "Personas de la lista de espera con cupo y aviso por correo: %(n)s.",
                        n=len(change.promoted),
                    ),
                    "success",
                )
            return redirect(request.path, code=303)
    return (
        render_template(
            "coordination/edition.html",
            edition=edition,
            form=form,
            registered=editions.registered_count(edition),
        ),
        400 if form.errors else 200,
    )


# --- dashboard ---------------------------------------------------------------------------


@bp.get(PREFIX + "/dashboard")
def dashboard(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    stats = charts.edition_stats(me(), edition)
    labels = services.status_labels()
    country_totals = [
        (country_name(code), sum(counts.values())) for code, counts in stats.by_country.items()
    ]
    return render_template(
        "coordination/dashboard.html",
        edition=edition,
        stats=stats,
        labels=labels,
        country_names={code: country_name(code) for code in stats.by_country},
        country_chart=charts.bar_chart(_("Inscritos por país"), country_totals),
        status_chart=charts.bar_chart(
            _("Inscritos por estado"), [(labels[s], n) for s, n in stats.by_status.items()]
        ),
        day_chart=charts.day_chart(_("Inscripciones por día"), stats.per_day),
        funnel_chart=charts.bar_chart(
            _("Personas que completaron cada módulo"),
            [(_("Módulo %(n)s", n=n), count) for n, count in stats.funnel],
        ),
    )
