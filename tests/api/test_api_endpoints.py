"""The API's endpoints per role: what each token sees, paging, updated_since, ETags, errors."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from courses.certificates.models import Certificate
from courses.certificates.services import revoke_certificate
from courses.coordination.models import AuditEntry
from courses.extensions import db
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from tests.api.api_helpers import A, B, bearer
from tests.factories import NOW, make_enrollment

SCOPE = {
    # role: (names in edition A, names in edition B or None for 404)
    "admin": ({"Camila Chile", "Pablo Perú"}, {"Carlos Chile", "Paula Perú"}),
    "course": ({"Camila Chile", "Pablo Perú"}, None),
    "country": ({"Pablo Perú"}, {"Paula Perú"}),
}


def _names(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return {person["name"] for person in response.get_json()["data"]}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.mark.parametrize("role", ["admin", "course", "country"])
def test_each_role_token_sees_exactly_its_coordinators_scope(world, client, role):
    headers = bearer(world.tokens[role])
    in_a, in_b = SCOPE[role]
    assert _names(client.get(A, headers=headers)) == in_a
    answer = client.get(B, headers=headers)
    if in_b is None:
        assert answer.status_code == 404
        assert answer.mimetype == "application/problem+json"
    else:
        assert _names(answer) == in_b
    editions = client.get("/api/v1/editions", headers=headers).get_json()["data"]
    expected = {"pesca-acuicultura/2023"} | ({"otro-curso/2024"} if in_b is not None else set())
    assert {f"{e['course']['slug']}/{e['slug']}" for e in editions} == expected


def test_a_country_token_never_sees_another_country_even_when_it_asks(world, client):
    headers = bearer(world.tokens["country"])
    assert _names(client.get(A + "?country=CL", headers=headers)) == set()
    assert _names(client.get(A + "?country=cl&status=certified", headers=headers)) == set()
    assert _names(client.get(A + "?country=PE", headers=headers)) == {"Pablo Perú"}
    # Nor through the certificate code it cannot list: that answer is public anyway and names
    # only the holder, course and edition, like the printed QR code's page.
    code = world.codes["camila"]
    body = client.get(f"/api/v1/certificates/{code}").get_json()
    assert set(body) == {
        "code", "state", "holder_name", "course", "edition", "issued_at", "revoked_at",
        "superseded_at", "superseded_by", "verify_url",
    }  # fmt: skip


def test_enrollment_shows_progress_modules_certificate_and_e164_phone(world, client):
    people = {
        p["name"]: p
        for p in client.get(A, headers=bearer(world.tokens["admin"])).get_json()["data"]
    }
    camila, pablo = people["Camila Chile"], people["Pablo Perú"]
    assert camila["status"] == "certified"
    assert camila["progress"] == {"completed": 6, "total": 6}
    assert [m["position"] for m in camila["modules"]] == [1, 2, 3, 4, 5, 6]
    code = world.codes["camila"]
    assert camila["certificate"]["code"] == f"{code[:5]}-{code[5:]}"
    assert camila["certificate"]["state"] == "valid"
    assert camila["certificate"]["verify_url"].endswith(f"/verify/{code}")
    assert pablo["status"] == "in_progress"
    assert pablo["progress"] == {"completed": 2, "total": 6}
    assert pablo["certificate"] is None
    assert pablo["phone"] == "+51987654321"
    assert pablo["id"] == world.people["pablo"]
    # Times carry their offset.
    assert camila["registered_at"].endswith("+00:00")
    assert camila["modules"][0]["completed_at"] == NOW.isoformat()


def test_status_filter_and_bad_parameters_answer_problem_details(world, client):
    headers = bearer(world.tokens["admin"])
    assert _names(client.get(A + "?status=certified", headers=headers)) == {"Camila Chile"}
    assert _names(client.get(A + "?status=in_progress", headers=headers)) == {"Pablo Perú"}
    for query in ("status=nope", "limit=0", "limit=x", "country=CHL", "updated_since=yesterday",
                  "updated_since=2023-07-01T00:00:00", "cursor=%%%"):  # fmt: skip
        answer = client.get(f"{A}?{query}", headers=headers)
        assert answer.status_code == 400, query
        assert answer.mimetype == "application/problem+json"
        problem = answer.get_json()
        assert problem["status"] == 400, query
        assert "invalid-params" in problem, (query, problem)
        assert problem["invalid-params"][0]["name"] == query.split("=")[0]


def test_pages_follow_next_links_through_a_seeded_edition_without_gaps(world, client, app):
    with app.app_context():
        edition = db.session.get(Enrollment, world.people["camila"]).edition
        for number in range(23):
            make_enrollment(edition, f"Persona {number:02d}", country="CL")
        db.session.commit()
    headers = bearer(world.tokens["admin"])
    seen, url, pages = [], A + "?limit=5", 0
    while url:
        body = client.get(url, headers=headers).get_json()
        assert len(body["data"]) <= 5
        seen += [person["id"] for person in body["data"]]
        url = body["links"]["next"] and _path(body["links"]["next"])
        pages += 1
    assert pages == 5
    assert len(seen) == len(set(seen)) == 25
    # The next link keeps the filters.
    first = client.get(A + "?limit=2&country=CL", headers=headers).get_json()
    assert "country=CL" in first["links"]["next"]
    assert {p["country"] for p in first["data"]} == {"CL"}


def test_updated_since_returns_what_changed_through_the_services(world, client, app):
    headers = bearer(world.tokens["admin"])
    later = NOW + timedelta(days=3)
    with app.app_context():
        pablo = db.session.get(Enrollment, world.people["pablo"])
        app.config["FIXED_NOW"] = later
        # A child row (a module completion) changes: the enrollment's updated_at moves.
        mark_module(pablo, pablo.edition.course.modules[3], source="self", now=later)
        db.session.commit()
    since = (NOW + timedelta(days=1)).isoformat()
    changed = client.get(A, query_string={"updated_since": since}, headers=headers).get_json()
    assert [p["name"] for p in changed["data"]] == ["Pablo Perú"]
    assert changed["data"][0]["updated_at"] == later.isoformat()
    assert changed["data"][0]["progress"]["completed"] == 3

    even_later = later + timedelta(hours=1)
    with app.app_context():
        app.config["FIXED_NOW"] = even_later
        cert = db.session.scalar(
            select(Certificate).where(Certificate.enrollment_id == world.people["camila"])
        )
        revoke_certificate(cert, "error", even_later)  # a certificate changes
        db.session.get(Enrollment, world.people["pablo"]).organization = "Otra"  # a field
        db.session.commit()
    since = (later + timedelta(minutes=1)).isoformat()
    changed = client.get(A, query_string={"updated_since": since}, headers=headers).get_json()
    assert {p["name"]: p["certificate"] and p["certificate"]["state"] for p in changed["data"]} == {
        "Camila Chile": "revoked",
        "Pablo Perú": None,
    }


def test_lists_have_an_etag_and_answer_304_while_nothing_changed(world, client, app):
    headers = bearer(world.tokens["admin"])
    for url in (A, "/api/v1/editions"):
        first = client.get(url, headers=headers)
        etag = first.headers["ETag"]
        again = client.get(url, headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304
        assert again.get_data() == b""
    with app.app_context():
        db.session.get(Enrollment, world.people["pablo"]).name = "Pablo Pérez"
        db.session.commit()
    changed = client.get(A, headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200


def test_certificate_verification_is_public_and_says_revoked(world, client, app):
    code = world.codes["camila"]
    body = client.get(f"/api/v1/certificates/{code[:5]}-{code[5:]}").get_json()
    assert body["state"] == "valid"
    assert body["holder_name"] == "Camila Chile"
    assert body["course"]["slug"] == "pesca-acuicultura"
    assert body["edition"] == "2023"
    with app.app_context():
        cert = db.session.scalar(select(Certificate).where(Certificate.code == code))
        revoke_certificate(cert, "error", NOW)
        db.session.commit()
    body = client.get(f"/api/v1/certificates/{code}").get_json()
    assert body["state"] == "revoked"
    assert body["revoked_at"] == NOW.isoformat()
    for wrong in ("ABCDE23456", "nope", "x" * 300):
        answer = client.get(f"/api/v1/certificates/{wrong}")
        assert answer.status_code == 404
        assert answer.mimetype == "application/problem+json"


def test_errors_under_api_are_problem_json(world, client):
    for method, url, status in (
        ("get", "/api/v1/nothing", 404),
        ("post", "/api/v1/editions", 405),
        ("delete", A, 405),
        ("get", "/api/v1/editions", 401),
    ):
        answer = getattr(client, method)(url)
        assert answer.status_code == status
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["status"] == status
    assert "GET" in client.post("/api/v1/editions").headers["Allow"]
    # Pages outside /api/ keep their HTML error pages.
    assert client.get("/nothing").mimetype == "text/html"


def test_reading_enrollments_is_audited_like_an_export(world, client, app):
    client.get(A + "?status=in_progress", headers=bearer(world.tokens["country"]))
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry.action == "api.enrollments"
        assert entry.coordinator_id == world.coordinators["country"]
        assert entry.details["rows"] == 1
        assert entry.details["filters"]["status"] == "in_progress"
