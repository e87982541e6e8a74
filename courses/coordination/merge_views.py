"""Merging two registrations of the same person: a preview of both, then the merge.

Both registrations are loaded through the coordinator's scope: outside it, 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from courses import clock
from courses.coordination import services
from courses.coordination.blueprint import PREFIX, load_edition, load_enrollee, me
from courses.extensions import db
from courses.forms import ActionForm
from courses.i18n import country_name
from courses.participants import merge as merging
from courses.participants import services as participants


def register(bp: Blueprint) -> None:
    bp.add_url_rule(
        PREFIX + "/enrollments/<int:keep_id>/merge/<int:remove_id>",
        view_func=merge,
        methods=["GET", "POST"],
    )


def _summary(person) -> dict:
    done, total = participants.progress(person)
    return {
        "person": person,
        "country": country_name(person.country),
        "done": done,
        "total": total,
        "status": services.status_labels()[services.enrollment_status(person)],
    }


def merge(course_slug: str, edition_slug: str, keep_id: int, remove_id: int):
    edition = load_edition(course_slug, edition_slug)
    keep = load_enrollee(edition, keep_id)
    remove = load_enrollee(edition, remove_id)
    if keep.id == remove.id:
        abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        removed = {"id": remove.id, "name": remove.name, "email": remove.email}
        try:
            result = merging.merge(keep, remove, clock.now())
        except merging.MergeRefused as refused:
            db.session.rollback()
            flash(str(refused), "error")
        else:
            services.record(
                me(),
                "enrollment.merge",
                f"enrollment:{result.kept_id}",
                removed=removed,
                modules_moved=result.modules_moved,
                certificate=result.certificate_code,
            )
            db.session.commit()
            flash(
                _(
                    "Inscripciones unidas: queda la de %(email)s; avisamos a las dos direcciones.",
                    email=keep.email,
                ),
                "success",
            )
            return redirect(
                url_for(
                    "coordination.enrollment",
                    course_slug=course_slug,
                    edition_slug=edition_slug,
                    enrollment_id=result.kept_id,
                ),
                code=303,
            )
    return render_template(
        "coordination/merge.html",
        edition=edition,
        keep=_summary(keep),
        remove=_summary(remove),
        form=form,
    )
