"""API tokens: shown once, hashed at rest, refused once revoked or expired, limited per token."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from courses import create_app
from courses.api.models import ApiToken
from courses.api.tokens import create_token
from courses.coordination.models import AuditEntry, Coordinator
from courses.extensions import db
from tests.api.api_helpers import A, bearer, seed
from tests.factories import NOW, login, make_coordinator, post


def _status(client, token: str) -> int:
    return client.get("/api/v1/editions", headers=bearer(token)).status_code


def test_tokens_are_stored_only_as_hashes(world, app):
    with app.app_context():
        stored = db.session.execute(text("SELECT * FROM api_token")).mappings().all()
    dump = repr(stored)
    for token in world.tokens.values():
        assert token not in dump
        assert token[10:30] not in dump
        assert hashlib.sha256(token.encode()).hexdigest() in dump


def test_revoked_expired_unknown_and_deactivated_tokens_are_refused(world, client, app):
    assert _status(client, world.tokens["admin"]) == 200
    with app.app_context():
        course_token = db.session.scalar(
            select(ApiToken).where(ApiToken.coordinator_id == world.coordinators["course"])
        )
        course_token.revoked_at = NOW
        db.session.get(Coordinator, world.coordinators["country"]).active = False
        db.session.commit()
    for token in (world.tokens["course"], world.tokens["country"], "cap_" + "x" * 43, "nope"):
        answer = client.get(A, headers=bearer(token))
        assert answer.status_code == 401
        assert answer.mimetype == "application/problem+json"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert (
        client.get(A, headers={"Authorization": "Basic " + world.tokens["admin"]}).status_code
        == 401
    )
    # The admin's token expires after 30 days.
    app.config["FIXED_NOW"] = NOW + timedelta(days=30, seconds=1)
    assert _status(client, world.tokens["admin"]) == 401
    app.config["FIXED_NOW"] = NOW + timedelta(days=29)
    assert _status(client, world.tokens["admin"]) == 200


def test_last_use_is_recorded(world, client, app):
    app.config["FIXED_NOW"] = NOW + timedelta(hours=2)
    assert _status(client, world.tokens["course"]) == 200
    with app.app_context():
        row = db.session.scalar(
            select(ApiToken).where(ApiToken.coordinator_id == world.coordinators["course"])
        )
        assert row.last_used_at == NOW + timedelta(hours=2)


def test_rate_limit_counts_per_token(database_url):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": True,
            "API_RATE_LIMIT": "3 per hour",
            "FIXED_NOW": NOW,
        },
    )
    with app.app_context():
        db.create_all()
    try:
        world = seed(app)
        client = app.test_client()
        for _ in range(3):
            assert _status(client, world.tokens["admin"]) == 200
        limited = client.get("/api/v1/editions", headers=bearer(world.tokens["admin"]))
        assert limited.status_code == 429
        assert limited.mimetype == "application/problem+json"
        assert "Retry-After" in limited.headers
        # Another token has its own allowance.
        assert _status(client, world.tokens["course"]) == 200
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_cli_prints_a_working_token_once(app, runner):
    with app.app_context():
        make_coordinator("country", email="pe@coordinacion.org", country="PE")
        db.session.commit()
    result = runner.invoke(args=["api", "token", "PE@coordinacion.org", "--name", "Registro PE"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert re.fullmatch(r"cap_[A-Za-z0-9_-]{43}", token)
    assert app.test_client().get("/api/v1/editions", headers=bearer(token)).status_code == 200
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.name == "Registro PE"
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == (
            "api.token.create"
        )
    refused = runner.invoke(args=["api", "token", "nobody@example.org"])
    assert refused.exit_code == 1


@pytest.mark.parametrize("role", ["admin", "country"])
def test_coordinator_creates_lists_and_revokes_tokens_on_their_page(app, client, role):
    with app.app_context():
        me = make_coordinator(role, country="PE" if role == "country" else None)
        other = make_coordinator("admin")
        db.session.commit()
        my_id, other_id, my_email = me.id, other.id, me.email
    login(client, my_email)
    assert 'href="/coordinator/api/tokens"' in client.get("/coordinator/").get_data(as_text=True)
    page = client.get("/coordinator/api/tokens")
    assert page.status_code == 200
    created = post(client, "/coordinator/api/tokens", {"name": "Portal", "expires": "2031-01-31"},
                   form_url="/coordinator/api/tokens")  # fmt: skip
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "private, no-store"
    token = re.search(r'<code id="new-token">(cap_[^<]+)</code>', created.get_data(as_text=True))
    assert token, created.get_data(as_text=True)[:2000]
    token = token.group(1)
    assert client.get("/api/v1/editions", headers=bearer(token)).status_code == 200
    # Listed without the token itself.
    listing = client.get("/coordinator/api/tokens").get_data(as_text=True)
    assert "Portal" in listing and token not in listing
    with app.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.coordinator_id == my_id))
        assert row.expires_at.date().isoformat() == "2031-01-31"
        row_id = row.id
    revoked = post(client, f"/coordinator/api/tokens/{row_id}/revoke",
                   form_url="/coordinator/api/tokens")  # fmt: skip
    assert revoked.status_code == 303
    assert client.get("/api/v1/editions", headers=bearer(token)).status_code == 401
    # Nobody revokes someone else's token.
    with app.app_context():
        theirs, _ = create_token(
            db.session.get(Coordinator, other_id), "x", expires_at=None, now=NOW
        )
        db.session.commit()
        theirs_id = theirs.id
    refused = post(client, f"/coordinator/api/tokens/{theirs_id}/revoke",
                   form_url="/coordinator/api/tokens")  # fmt: skip
    assert refused.status_code == 404
    # A name that is too long is shown next to the field and stores nothing.
    bad = post(client, "/coordinator/api/tokens", {"name": "x" * 200},
               form_url="/coordinator/api/tokens")  # fmt: skip
    assert bad.status_code == 400
    with app.app_context():
        assert len(db.session.scalars(select(ApiToken)).all()) == 2


def test_token_page_needs_a_login(client):
    assert client.get("/coordinator/api/tokens").status_code == 302
