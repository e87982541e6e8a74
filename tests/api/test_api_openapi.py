"""The OpenAPI document covers every API route and is what the reference page shows."""

from __future__ import annotations

import re

from courses.api.openapi import UNDOCUMENTED
from courses.extensions import db
from tests.api.api_helpers import bearer
from tests.factories import login, make_coordinator


def test_every_api_route_is_in_the_document(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = set(spec["paths"])
    routes = {
        re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint not in UNDOCUMENTED
    }
    assert routes == documented
    assert set(spec["webhooks"]) == {
        "registration.created", "enrollment.completed", "certificate.issued",
        "certificate.revoked",
    }  # fmt: skip
    # Every $ref points at a schema the document has.
    text = client.get("/api/v1/openapi.json").get_data(as_text=True)
    for name in re.findall(r'"#/components/schemas/([^"]+)"', text):
        assert name in spec["components"]["schemas"], name
    # The enrollment list declares its filters.
    operation = spec["paths"]["/api/v1/editions/{course_slug}/{edition_slug}/enrollments"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"country", "status", "updated_since", "cursor", "limit"} <= names


def test_the_reference_page_is_linked_from_the_coordinator_pages_and_has_no_outside_assets(
    app, client, world
):
    with app.app_context():
        email = make_coordinator("country", country="PE").email
        db.session.commit()
    login(client, email)
    tokens_page = client.get("/coordinator/api/tokens").text
    assert 'href="/api/v1/docs"' in tokens_page
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.text
    assert "GET /api/v1/editions/{course_slug}/{edition_slug}/enrollments" in html
    assert "X-Webhook-Signature" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing loaded from elsewhere"
    # The document's example token header works as the page says.
    assert client.get("/api/v1/editions", headers=bearer(world.tokens["admin"])).status_code == 200
