"""The coordinator's digest choice: `/coordinator/digest` (off / daily / weekly)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from courses.coordination.blueprint import me
from courses.digest import job
from courses.digest.models import DAILY, OFF, WEEKLY
from courses.extensions import db


class DigestForm(FlaskForm):
    frequency = RadioField(
        _l("Resumen por correo"),
        choices=[
            SelectChoice(DAILY, _l("Cada día, a las 08:00")),
            SelectChoice(WEEKLY, _l("Cada semana, los lunes")),
            SelectChoice(OFF, _l("Nunca")),
        ],
    )


def digest():
    form = DigestForm(frequency=job.frequency(me()))
    if form.validate_on_submit():
        job.choose(me(), form.frequency.data)
        db.session.commit()
        flash(_l("Guardado."), "success")
        return redirect(url_for("coordination.digest"), code=303)
    status = 400 if form.errors else 200
    return render_template("digest/choice.html", form=form), status


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/digest", "digest", digest, methods=["GET", "POST"])
