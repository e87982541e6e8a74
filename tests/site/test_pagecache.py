"""Public pages reused for a minute: same words for everyone, a CSRF token of one's own."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from flask import g

from courses.site import pagecache
from tests.registration.registration_helpers import FORM_URL, VALID, counts, make_edition

SANTIAGO = ZoneInfo("America/Santiago")


@pytest.fixture
def cached(app):
    app.config["PAGE_CACHE_SECONDS"] = 60
    pagecache.clear()
    yield app
    pagecache.clear()


def _token(client) -> tuple[str, str]:
    g.pop("csrf_token", None)  # the test client shares one `g`; a browser never would
    page = client.get(FORM_URL)
    assert page.status_code == 200
    return page.text, re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)[1]


def test_a_cached_form_gives_each_visitor_a_working_token_of_their_own(cached):
    cached.config["FIXED_NOW"] = datetime(2023, 7, 10, 15, tzinfo=UTC)
    make_edition()
    first, second = cached.test_client(), cached.test_client()
    first_page, first_token = _token(first)
    second_page, second_token = _token(second)
    assert first_token != second_token
    # Apart from the token, the second visitor got the very page stored for the first.
    assert first_page.replace(first_token, "") == second_page.replace(second_token, "")
    g.pop("csrf_token", None)
    response = second.post(
        FORM_URL, data={**VALID, "email": "second@example.org", "csrf_token": second_token}
    )
    assert response.status_code == 303
    assert counts()[0] == 1


def test_the_stored_course_page_follows_the_clock_across_the_deadline(cached):
    make_edition()
    cached.config["FIXED_NOW"] = datetime(2023, 7, 21, 23, 59, 30, tzinfo=SANTIAGO)
    client = cached.test_client()
    assert (
        'href="/courses/pesca-acuicultura/2023/register"'
        in client.get("/courses/pesca-acuicultura").text
    )
    # Midnight starts a new minute: the page stored at 23:59 is not reused after the deadline.
    cached.config["FIXED_NOW"] = datetime(2023, 7, 22, 0, 0, 0, tzinfo=SANTIAGO)
    page = client.get("/courses/pesca-acuicultura").text
    assert 'href="/courses/pesca-acuicultura/2023/register"' not in page
    assert "cerraron" in page


def test_refused_submissions_are_never_served_from_the_cache(cached):
    cached.config["FIXED_NOW"] = datetime(2023, 7, 10, 15, tzinfo=UTC)
    make_edition()
    client = cached.test_client()
    _page, token = _token(client)
    refused = client.post(FORM_URL, data={**VALID, "phone": "123", "csrf_token": token})
    assert refused.status_code == 422
    assert 'id="phone-error"' in refused.text
    _page_again, _token_again = _token(client)
    assert 'id="phone-error"' not in _page_again
    assert counts() == (0, 0)
