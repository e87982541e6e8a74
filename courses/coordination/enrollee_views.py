"""One enrollee's page: their details, state and modules, and the coordinator's actions on them.

Every action loads the person through `load_enrollee`: outside the coordinator's scope, 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from courses import clock
from courses.catalog.models import Edition
from courses.coordination import services
from courses.coordination.blueprint import PREFIX, load_edition, load_enrollee, me
from courses.coordination.forms import ContactForm
from courses.extensions import db
from courses.forms import ActionForm
from courses.i18n import country_name, current_language
from courses.mail import status as mail_status
from courses.participants import services as participants
from courses.participants.services import CompletionRefused
from courses.registration import contact, withdrawal
from courses.registration.models import Enrollment
from courses.registration.rules import InvalidRegistration

ENROLLEE = PREFIX + "/enrollments/<int:enrollment_id>"


def register(bp: Blueprint) -> None:
    bp.add_url_rule(ENROLLEE, view_func=enrollment)
    bp.add_url_rule(ENROLLEE + "/modules/<int:position>", view_func=set_module, methods=["POST"])
    bp.add_url_rule(ENROLLEE + "/contact", view_func=correct_contact, methods=["POST"])
    bp.add_url_rule(ENROLLEE + "/link", view_func=resend_link, methods=["POST"])
    bp.add_url_rule(ENROLLEE + "/undo-withdrawal", view_func=undo_withdrawal, methods=["POST"])


def _page(edition: Edition, person: Enrollment, contact_form: ContactForm | None = None):
    done = participants.completions(person)
    if contact_form is None:
        contact_form = ContactForm(
            formdata=None,
            data={key: getattr(person, key) for key in contact.FIELDS},
        )
    return render_template(
        "coordination/enrollment.html",
        edition=edition,
        person=person,
        modules=[(m, done.get(m.id)) for m in edition.course.modules],
        status=services.status_labels()[services.enrollment_status(person)],
        country=country_name(person.country),
        form=ActionForm(),
        contact_form=contact_form,
        mail_lines=mail_status.for_enrollment(person.id),
    )


def _back(edition: Edition, person_id: int):
    return redirect(
        url_for(
            "coordination.enrollment",
            course_slug=edition.course.slug,
            edition_slug=edition.slug,
            enrollment_id=person_id,
        ),
        code=303,
    )


def enrollment(course_slug: str, edition_slug: str, enrollment_id: int):
    edition = load_edition(course_slug, edition_slug)
    return _page(edition, load_enrollee(edition, enrollment_id))


def correct_contact(course_slug: str, edition_slug: str, enrollment_id: int):
    edition = load_edition(course_slug, edition_slug)
    person = load_enrollee(edition, enrollment_id)
    form = ContactForm()
    if not form.validate_on_submit():
        abort(400)
    if person.erased_at is not None:
        flash(_("Los datos de esta persona fueron borrados: no se pueden corregir."), "error")
        return _back(edition, person.id)
    try:
        change = contact.correct_contact(
            person,
            name=form.name.data or "",
            email=form.email.data or "",
            phone=form.phone.data or "",
            organization=form.organization.data or "",
            language=current_language(),
            now=clock.now(),
        )
    except InvalidRegistration as invalid:
        db.session.rollback()
        for key, message in invalid.errors.items():
            getattr(form, key).errors = [message]
        person = load_enrollee(edition, enrollment_id)
        return _page(edition, person, form), 400
    if not change.changes:
        flash(_("No había nada que cambiar."), "warning")
        return _back(edition, person.id)
    services.record(
        me(),
        "enrollment.contact",
        f"enrollment:{person.id}",
        before={key: before for key, (before, _after) in change.changes.items()},
        after={key: after for key, (_before, after) in change.changes.items()},
    )
    db.session.commit()
    flash(_("Datos corregidos."), "success")
    if change.email_changed:
        flash(
            _(
                "Enviamos el enlace personal a %(email)s y avisamos del cambio a la dirección "
                "anterior.",
                email=person.email,
            ),
            "success",
        )
    return _back(edition, person.id)


def resend_link(course_slug: str, edition_slug: str, enrollment_id: int):
    edition = load_edition(course_slug, edition_slug)
    person = load_enrollee(edition, enrollment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if person.erased_at is not None:
        flash(_("Los datos de esta persona fueron borrados: no hay a quién escribir."), "error")
        return _back(edition, person.id)
    contact.send_personal_link(person, clock.now())
    services.record(me(), "enrollment.link_resent", f"enrollment:{person.id}")
    db.session.commit()
    flash(_("Enlace personal reenviado a %(email)s.", email=person.email), "success")
    return _back(edition, person.id)


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
    return _back(edition, person.id)


def undo_withdrawal(course_slug: str, edition_slug: str, enrollment_id: int):
    """Give a person who left the edition their place back, while a seat is free."""
    edition = load_edition(course_slug, edition_slug)
    person = load_enrollee(edition, enrollment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        withdrawal.undo_withdrawal(person, clock.now())
    except withdrawal.WithdrawalRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        services.record(me(), "enrollment.undo_withdrawal", f"enrollment:{person.id}")
        db.session.commit()
        flash(_("Listo: la persona vuelve a estar inscrita."), "success")
    return _back(edition, person.id)
