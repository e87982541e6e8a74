"""No request, however malformed, produces a 500: every route, odd arguments, odd bodies.

The application is filled the way a user would fill it (bundled course, demo edition, a
registration, a certificate, an admin logged in), then every URL rule is called with arguments
and form data that no form of ours would send.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from courses.catalog.loader import read_course_files
from courses.catalog.upsert import load_courses, refresh_demo_edition
from courses.extensions import db

NOW = datetime(2026, 11, 28, 15, tzinfo=UTC)
ODD_VALUES = [
    "0",
    "-1",
    "99999999999999999999",
    "ñandú",
    "a" * 500,
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202e\u0000x",
    "%0D%0ASet-Cookie:%20x=1",
    "%09tab",
    "%E2%80%AEreversed%E2%81%A6",
    "\u2066isolated\u2069",
    "ｆｕｌｌｗｉｄｔｈ／．．",
]
#: `next=` values that must never leave the site, break the Location header or answer 500.
ODD_NEXT = [
    "/%0D%0ASet-Cookie:%20x=1",
    "/coordinator/%0D%0ASet-Cookie:%20x=1",
    "/coordinator/%0Aenrollments",
    "/coordinator/\tx",
    "%09/coordinator/",
    "//evil.example/coordinator/",
    "/\\evil.example",
    "/coordinator/\\..\\evil",
    "https://evil.example/coordinator/",
    "https:evil.example",
    "／／evil.example",
    "/coordinator/%E2%80%AEx",
    "/coordinator/ｆｕｌｌ",
]
ODD_FORM = {
    "name": ["x", "y"],
    "email": "not-an-email\u0000",
    "phone": "+" + "9" * 80,
    "country": "ZZ",
    "organization": "\ufeff" * 3,
    "consent": "maybe",
    "code": "' OR 1=1",
    "answers": ["9", "-1"],
    "q1": "7",
    "password": "",
    "new_password": "x",
    "capacity": "-5",
    "registration_closes": "2023-02-30",
    "complete_by": "yesterday",
    "reason": "",
    "payload": "not-signed",
    "file": "",
    "active": "perhaps",
}


@pytest.fixture
def filled(app, client, runner):
    """The bundled course, an open demo edition, one registration, an admin logged in."""
    app.config["FIXED_NOW"] = NOW
    app.config["WTF_CSRF_ENABLED"] = False  # reach the views' own validation with odd data
    bundled = sorted(Path(app.root_path, "catalog").glob("*.toml"))
    with app.app_context():
        load_courses(read_course_files(bundled))
        refresh_demo_edition(NOW)
        db.session.commit()
    registered = client.post(
        "/courses/pesca-acuicultura/demo/register",
        data={
            "name": "Ana Núñez",
            "email": "ana@example.org",
            "phone": "9 6123 4567",
            "country": "CL",
            "organization": "Caleta Portales",
            "consent": "y",
        },
    )
    assert registered.status_code == 303
    result = runner.invoke(
        args=["coordinators", "create", "admin@example.org", "--role", "admin"],
        input="una-clave-larga-123\n",
    )
    assert result.exit_code == 0, result.output
    login = client.post(
        "/coordinator/login",
        data={"email": "admin@example.org", "password": "una-clave-larga-123"},
    )
    assert login.status_code in (302, 303)
    return client


def _urls(app) -> list[str]:
    """Every rule, its arguments replaced by each odd value (and by real slugs once)."""
    urls = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for value in [*ODD_VALUES, "pesca-acuicultura"]:
            path = rule.rule
            for argument in rule.arguments:
                real = {"course": "pesca-acuicultura", "course_slug": "pesca-acuicultura"}
                real |= {"edition": "demo", "edition_slug": "demo"}
                replacement = real.get(argument, value) if value == "pesca-acuicultura" else value
                path = re.sub(rf"<(?:[^:<>]+:)?{argument}(?:\([^)]*\))?>", replacement, path)
            urls.add(path)
    return sorted(urls)


def test_every_route_answers_odd_arguments_without_a_server_error(app, filled):
    client = filled
    failures = []
    for url in _urls(app):
        for method in ("GET", "POST"):
            response = client.open(
                url + "?page=-3&sort=%27&country=%3Cx%3E&status=nope&q=%00&sep=%FF&play=2"
                "&next=/%0D%0ASet-Cookie:%20x=1&q=%E2%80%AE%EF%BD%81",
                method=method,
                data=ODD_FORM if method == "POST" else None,
            )
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_a_body_over_64_kb_is_refused_with_413_and_stores_nothing(app, filled):
    from sqlalchemy import func, select

    from courses.registration.models import Enrollment

    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Enrollment))
    response = filled.post(
        "/courses/pesca-acuicultura/demo/register",
        data={"name": "x" * (70 * 1024), "email": "big@example.org"},
    )
    assert response.status_code == 413
    assert "demasiado grande" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == before


@pytest.mark.parametrize("target", ODD_NEXT)
def test_a_next_that_is_not_a_plain_path_here_goes_home_and_never_500(app, client, target):
    """GET /language/en?next=/%0D%0ASet-Cookie:… answered 500; so did a login with it."""
    from urllib.parse import quote

    from tests.factories import PASSWORD, make_coordinator

    response = client.get(f"/language/en?next={quote(target, safe='/%:')}")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "\r" not in location and "\n" not in location and "evil" not in location
    assert not any("x=1" in c for c in response.headers.getlist("Set-Cookie"))

    with app.app_context():
        email = make_coordinator("admin").email
        db.session.commit()
    page = client.get("/coordinator/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        f"/coordinator/login?next={quote(target, safe='/%:')}",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/coordinator/") and "evil" not in location
    assert "\r" not in location and "\n" not in location and "\t" not in location


def test_a_plain_next_on_this_site_is_followed_with_its_query(app, client):
    response = client.get("/language/en?next=/courses/pesca-acuicultura%3Fcountry%3DPE")
    assert response.headers["Location"] == "/courses/pesca-acuicultura?country=PE"
    response = client.get("/language/en?next=/verify/%C3%B1")
    assert response.headers["Location"] == "/verify/%C3%B1"
