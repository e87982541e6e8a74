"""Shared values for the catalogue tests: course-file texts and database snapshots."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from courses.catalog.models import Course, Edition, Module
from courses.extensions import db

BUNDLED = Path(__file__).resolve().parents[2] / "courses" / "catalog" / "pesca-acuicultura.toml"

#: A small valid course file; tests change one line to make it invalid.
EXAMPLE = """\
slug = "ejemplo"
title = { es = "Curso de ejemplo", en = "Example course" }
description = "Un curso corto."
timezone = "America/Santiago"
completion = "self"
countries = ["CL", "PE"]

[[modules]]
title = "Uno"
minutes = 20

[[modules]]
title = { es = "Dos", en = "Two" }

[[editions]]
slug = "2023"
registration_opens = 2023-06-01
registration_closes = 2023-07-21
capacity = 0
"""


def snapshot() -> list[tuple]:
    """Every catalogue row, to prove a refused load wrote nothing."""
    db.session.expire_all()
    rows: list[tuple] = []
    for course in db.session.scalars(select(Course).order_by(Course.id)):
        rows.append(
            (
                "course",
                course.id,
                course.slug,
                course.title,
                course.description,
                course.timezone,
                course.countries,
                course.updated_at,
            )
        )
    for module in db.session.scalars(select(Module).order_by(Module.id)):
        rows.append(("module", module.id, module.course_id, module.position, module.title))
    for edition in db.session.scalars(select(Edition).order_by(Edition.id)):
        rows.append(
            (
                "edition",
                edition.id,
                edition.course_id,
                edition.slug,
                edition.registration_opens,
                edition.registration_closes,
                edition.complete_by,
                edition.capacity,
            )
        )
    return rows
