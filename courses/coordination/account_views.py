"""Coordinator accounts, managed by admins: create one, deactivate or reactivate one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from courses import clock
from courses.catalog.models import Course
from courses.coordination import services, sessions
from courses.coordination.blueprint import me, require_admin
from courses.coordination.forms import CoordinatorForm
from courses.coordination.models import Coordinator
from courses.extensions import db
from courses.forms import ActionForm


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/accounts", view_func=accounts, methods=["GET", "POST"])
    bp.add_url_rule(
        "/accounts/<int:coordinator_id>/active", view_func=toggle_active, methods=["POST"]
    )


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


def toggle_active(coordinator_id: int):
    require_admin()
    other = db.session.get(Coordinator, coordinator_id)
    if other is None:
        abort(404)
    if not ActionForm().validate_on_submit() or other.id == me().id:
        abort(400)
    other.active = not other.active
    if not other.active:
        sessions.end_all(other)  # a deactivated account is logged out everywhere at once
    services.record(
        me(),
        "coordinator.active",
        f"coordinator:{other.id}",
        before=not other.active,
        after=other.active,
    )
    db.session.commit()
    return redirect(url_for("coordination.accounts"), code=303)
