"""An edition's dates and capacity, changed by admins and the course's coordinators."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from courses import clock
from courses.catalog.models import Course
from courses.coordination import editions, services
from courses.coordination.blueprint import PREFIX, load_edition, me
from courses.coordination.forms import EditionForm, NewEditionForm
from courses.extensions import db

T = TypeVar("T")


def register(bp: Blueprint) -> None:
    bp.add_url_rule(PREFIX + "/settings", view_func=edit_edition, methods=["GET", "POST"])
    bp.add_url_rule("/<course_slug>/editions/new", view_func=new_edition, methods=["GET", "POST"])


def new_edition(course_slug: str):
    course = db.session.scalar(select(Course).where(Course.slug == course_slug))
    if course is None or not services.can_manage_course(me(), course):
        abort(404)
    form = NewEditionForm()
    if form.validate_on_submit():
        edition = _saved(
            form, lambda: editions.create_edition(course, slug=form.slug.data, **_days(form))
        )
        if edition is not None:
            services.record(
                me(),
                "edition.create",
                f"edition:{edition.id}",
                course=course.slug,
                edition=edition.slug,
                after=editions.snapshot(edition),
            )
            db.session.commit()
            flash(_("Edición %(slug)s creada.", slug=edition.slug), "success")
            return redirect(
                url_for(
                    "coordination.edit_edition", course_slug=course.slug, edition_slug=edition.slug
                ),
                code=303,
            )
    return (
        render_template("coordination/edition_new.html", course=course, form=form),
        400 if form.errors else 200,
    )


def edit_edition(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    if not services.can_manage_edition(me(), edition):
        abort(404)
    form = EditionForm(data=None if request.method == "POST" else editions.form_days(edition))
    if form.validate_on_submit():
        change = _saved(
            form, lambda: editions.update_edition(edition, **_days(form), now=clock.now())
        )
        if change is not None:
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


def _days(form: EditionForm) -> dict[str, object]:
    """The days and capacity both forms ask for, as the edition services take them."""
    return {
        "opens": form.registration_opens.data,
        "closes": form.registration_closes.data,
        "complete_by": form.complete_by.data,
        "capacity": form.capacity.data,
    }


def _saved(form: EditionForm, change: Callable[[], T]) -> T | None:
    """What the service answers; None when it refuses, its reason shown next to the field at
    fault and its partial work rolled back."""
    try:
        return change()
    except editions.EditionError as error:
        db.session.rollback()
        getattr(form, error.field).errors.append(error.message)
        return None
