"""A seeded world for the API: two courses, people from Chile and Perú, a token per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask

from courses.api import tokens
from courses.certificates import codes
from courses.extensions import db
from tests.factories import (
    NOW,
    complete,
    make_certificate,
    make_coordinator,
    make_course,
    make_enrollment,
)

A = "/api/v1/editions/pesca-acuicultura/2023/enrollments"
B = "/api/v1/editions/otro-curso/2024/enrollments"


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    coordinators: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)


def seed(app: Flask) -> World:
    """Course A with Camila (CL, certified) and Pablo (PE, 2 modules); course B with Carlos (CL)
    and Paula (PE); an admin, a course coordinator of A and a country coordinator of PE;
    committed, in a context of its own (the World keeps ids and tokens, not rows)."""
    world = World()
    with app.app_context():
        first = make_course("pesca-acuicultura")
        second = make_course("otro-curso", edition_slug="2024")
        camila = make_enrollment(first, "Camila Chile", email="camila@cl.example", country="CL")
        pablo = make_enrollment(
            first, "Pablo Perú", email="pablo@pe.example", country="PE", phone="+51987654321"
        )
        carlos = make_enrollment(second, "Carlos Chile", email="carlos@cl.example", country="CL")
        paula = make_enrollment(second, "Paula Perú", email="paula@pe.example", country="PE")
        complete(camila, 1, 2, 3, 4, 5, 6)
        world.codes["camila"] = make_certificate(camila, code=codes.new_code()).code
        complete(pablo, 1, 2)
        roles = {
            "admin": make_coordinator("admin"),
            "course": make_coordinator("course", course=first.course),
            "country": make_coordinator("country", country="PE"),
        }
        for role, coordinator in roles.items():
            _, world.tokens[role] = tokens.create_token(
                coordinator, f"{role} sync", expires_at=NOW + timedelta(days=30), now=NOW
            )
            world.coordinators[role] = coordinator.id
        for key, person in (
            ("camila", camila),
            ("pablo", pablo),
            ("carlos", carlos),
            ("paula", paula),
        ):
            world.people[key] = person.id
        db.session.commit()
    return world


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
