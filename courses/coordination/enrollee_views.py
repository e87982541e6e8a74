"""One enrollee's page: their details, state and modules, and the coordinator's actions on them."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from courses import clock
from courses.coordination import services
from courses.coordination.blueprint import PREFIX, load_edition, load_enrollee, me
from courses.extensions import db
from courses.forms import ActionForm
from courses.i18n import country_name
from courses.participants import services as participants
from courses.participants.services import CompletionRefused

ENROLLEE = PREFIX + "/enrollments/<int:enrollment_id>"


def register(bp: Blueprint) -> None:
    bp.add_url_rule(ENROLLEE, view_func=enrollment)
    bp.add_url_rule(ENROLLEE + "/modules/<int:position>", view_func=set_module, methods=["POST"])


def enrollment(course_slug: str, edition_slug: str, enrollment_id: int):
    edition = load_edition(course_slug, edition_slug)
    person = load_enrollee(edition, enrollment_id)
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


def set_module(course_slug: str, edition_slug: str, enrollment_id: int, position: int):
    edition = load_edition(course_slug, edition_slug)
    person = load_enrollee(edition, enrollment_id)
    module = next((m for m in edition.course.modules if m.position == position), None)
    if module is None:
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
