"""An edition's dates and capacity, changed by admins and the course's coordinators."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_babel import gettext as _

from courses import clock
from courses.coordination import editions, services
from courses.coordination.blueprint import PREFIX, load_edition, me
from courses.coordination.forms import EditionForm
from courses.extensions import db


def register(bp: Blueprint) -> None:
    bp.add_url_rule(PREFIX + "/settings", view_func=edit_edition, methods=["GET", "POST"])


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
