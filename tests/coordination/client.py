"""Test-client helpers for coordinator tests that keep requests and direct database work apart.

Each request runs in its own application context; the test reads and writes the database inside
`context(app)`, as a separate visitor would.
"""

from __future__ import annotations

import re
from contextlib import nullcontext

from flask import has_app_context

from tests.coordination.helpers import PASSWORD


def context(app):
    """An application context for direct database work, unless the test already runs in one."""
    return nullcontext() if has_app_context() else app.app_context()


def csrf(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(client, email: str) -> None:
    token = csrf(client, "/coordinator/login")
    response = client.post(
        "/coordinator/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303


def send(client, url: str, data: dict | None = None):
    """POST with a valid CSRF token taken from a coordinator page."""
    token = csrf(client, "/coordinator/password")
    return client.post(url, data={"csrf_token": token, **(data or {})})
