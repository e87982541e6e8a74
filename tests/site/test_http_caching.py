"""HTTP for phones on paid data: immutable static files, 304s that are never stale, compression.

Written in the new style: requests run outside any application context (each in its own, as
in production); `with app.app_context():` only around building or changing rows.
"""

from __future__ import annotations

import gzip
import re
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select

from courses.catalog.models import Edition
from courses.extensions import db
from courses.site.http_cache import IMMUTABLE
from tests.factories import (
    FORM_URL,
    NOW,
    SANTIAGO,
    VALID,
    counts,
    csrf_in,
    enroll,
    make_course,
)

COURSE_URL = "/courses/pesca-acuicultura"
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')


def _open_course(app) -> None:
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        make_course()
        db.session.commit()


def test_fingerprinted_static_files_are_immutable_and_plain_ones_are_revalidated(app, client):
    _open_course(app)
    href = STYLESHEET.search(client.get(COURSE_URL).text).group(1)
    assert re.fullmatch(r"/static/style\.css\?v=[0-9a-f]{12}", href)

    with client.get(href) as fingerprinted:
        assert fingerprinted.status_code == 200
        assert fingerprinted.headers["Cache-Control"] == IMMUTABLE
        content = fingerprinted.data

    # An old page's link (another fingerprint) or none at all still gets the file, revalidated.
    for url in ("/static/style.css", "/static/style.css?v=000000000000"):
        with client.get(url) as plain:
            assert plain.status_code == 200
            assert plain.data == content
            assert "immutable" not in plain.headers.get("Cache-Control", "")


def test_the_fingerprint_follows_the_file_content(app, tmp_path):
    app.static_folder = str(tmp_path)
    sheet = tmp_path / "style.css"
    sheet.write_text("body { color: black }")
    with app.test_request_context():
        first = url_for("static", filename="style.css")
        assert url_for("static", filename="style.css") == first  # stable while unchanged
        sheet.write_text("body { color: navy }")
        second = url_for("static", filename="style.css")
    assert first != second
    assert first.startswith("/static/style.css?v=") and second.startswith("/static/style.css?v=")


def test_the_course_page_answers_304_until_a_coordinator_changes_its_deadline(app, client):
    _open_course(app)
    first = client.get(COURSE_URL)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert {"Accept-Language", "Cookie"} <= set(first.headers["Vary"].replace(" ", "").split(","))
    etag = first.headers["ETag"]
    assert "21 de julio de 2023" in first.text

    again = client.get(COURSE_URL, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag

    with app.app_context():
        edition = db.session.scalar(select(Edition))
        edition.registration_closes = datetime(2023, 7, 29, tzinfo=SANTIAGO)
        db.session.commit()

    changed = client.get(COURSE_URL, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "28 de julio de 2023" in changed.text


def test_the_course_page_is_not_reused_once_the_clock_passes_the_deadline(app, client):
    _open_course(app)
    app.config["FIXED_NOW"] = datetime(2023, 7, 21, 23, 59, 30, tzinfo=SANTIAGO)
    before = client.get(COURSE_URL)
    assert 'href="/courses/pesca-acuicultura/2023/register"' in before.text

    app.config["FIXED_NOW"] = datetime(2023, 7, 22, 0, 0, 0, tzinfo=SANTIAGO)
    after = client.get(COURSE_URL, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert 'href="/courses/pesca-acuicultura/2023/register"' not in after.text
    assert "cerraron" in after.text


def test_the_form_is_never_answered_304_and_each_visitor_registers_with_a_token_of_their_own(
    app,
):
    _open_course(app)
    first, second = app.test_client(), app.test_client()
    pages = [visitor.get(FORM_URL) for visitor in (first, second)]
    for page in pages:
        assert page.status_code == 200
        assert "ETag" not in page.headers
        assert page.headers["Cache-Control"] == "private, no-cache"
        assert "Cookie" in page.headers["Vary"]
    tokens = [csrf_in(page.text) for page in pages]
    assert tokens[0] != tokens[1]

    # Even a browser claiming to have "any" version gets the whole form again.
    assert first.get(FORM_URL, headers={"If-None-Match": "*"}).status_code == 200

    # Someone else's token is refused; one's own works.
    stolen = second.post(FORM_URL, data={**VALID, "csrf_token": tokens[0]})
    assert stolen.status_code == 400
    for visitor, token, email in zip(
        (first, second), tokens, ("uno@example.org", "dos@example.org"), strict=True
    ):
        answer = visitor.post(FORM_URL, data={**VALID, "email": email, "csrf_token": token})
        assert answer.status_code == 303
    with app.app_context():
        assert counts()[0] == 2


def test_a_refused_form_which_echoes_what_was_typed_is_not_stored(app, client):
    _open_course(app)
    token = csrf_in(client.get(FORM_URL).text)
    refused = client.post(FORM_URL, data={**VALID, "phone": "123", "csrf_token": token})
    assert refused.status_code == 422
    assert refused.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in refused.headers


def test_pages_are_gzipped_and_still_answer_304_when_compressed(app, client):
    _open_course(app)
    plain = client.get(COURSE_URL)
    assert "Content-Encoding" not in plain.headers

    zipped = client.get(COURSE_URL, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) < len(plain.data) / 2
    assert gzip.decompress(zipped.data) == plain.data
    # The compressed bytes are another representation: another strong ETag.
    assert zipped.headers["ETag"] != plain.headers["ETag"]

    again = client.get(
        COURSE_URL, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == zipped.headers["ETag"]


def test_compression_can_be_left_to_a_reverse_proxy(app, client):
    _open_course(app)
    app.config["COMPRESS_RESPONSES"] = False
    page = client.get(COURSE_URL, headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert "Content-Encoding" not in page.headers
    etag = page.headers["ETag"]
    assert client.get(COURSE_URL, headers={"If-None-Match": etag}).status_code == 304


def test_the_personal_page_is_compressed_but_kept_nowhere(app, client):
    _open_course(app)
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        _enrollment, token = enroll(edition, confirmed=True)
    page = client.get(f"/my/{token}", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert page.headers["Content-Encoding"] == "gzip"
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in page.headers
    assert "Ñandú" in gzip.decompress(page.data).decode()


def test_coordinator_pages_are_neither_compressed_nor_stored(app, client):
    # A CSRF token beside text a search echoes back is what a BREACH attack needs.
    page = client.get("/coordinator/login", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert "Content-Encoding" not in page.headers
    assert page.headers["Cache-Control"] == "private, no-store"


def test_a_page_showing_a_flashed_message_is_private(app, client):
    _open_course(app)
    app.config["FIXED_NOW"] = NOW + timedelta(days=30)  # closed: the "avísame" form is offered
    token = csrf_in(client.get(FORM_URL).text)
    sent = client.post(
        "/courses/pesca-acuicultura/notify",
        data={"email": "ana@example.org", "consent": "y", "csrf_token": token},
    )
    assert sent.status_code == 303
    shown = client.get(COURSE_URL)
    assert "te enviaremos un solo mensaje" in shown.text
    assert shown.headers["Cache-Control"] == "private, no-cache"
    assert client.get(COURSE_URL).headers["Cache-Control"] == "public, no-cache"


def test_what_the_pages_keep_in_memory_follows_the_database_at_once(app, client):
    # Formatted sentences, country names and the form's class are kept per process, keyed by
    # what they are made of: a coordinator's change shows on the very next request.
    _open_course(app)
    assert "Embarcación" not in client.get(FORM_URL).text
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        edition.course.questions = [
            {"key": "boat", "label": {"es": "Embarcación"}, "kind": "text", "required": False}
        ]
        edition.course.countries = ["CL", "PE"]
        edition.registration_closes = datetime(2023, 7, 29, tzinfo=SANTIAGO)
        db.session.commit()
    form = client.get(FORM_URL).text
    assert 'name="q_boat"' in form and "Embarcación" in form
    assert "28 de julio de 2023" in form
    assert "México" not in form


def test_a_public_page_that_carries_a_csrf_token_is_kept_private(app, client):
    # No public page has a POST form today; if one gets one, its token must stay the visitor's.
    from flask_wtf.csrf import generate_csrf

    from courses.site.http_cache import public_page

    @app.get("/test-public-form")
    @public_page
    def page_with_token():
        return f'<input name="csrf_token" value="{generate_csrf()}">'

    first = client.get("/test-public-form")
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/test-public-form")  # the session holds the token now: not modified
    assert again.headers["Cache-Control"] == "private, no-cache"
