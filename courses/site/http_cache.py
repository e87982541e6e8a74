"""HTTP the way phones on paid data benefit: long-lived static files, revalidated pages, gzip.

- Static files are linked with a fingerprint of their content (`/static/style.css?v=3f2a…`);
  such a URL never changes meaning, so it is sent `Cache-Control: public, max-age=31536000,
  immutable` and a phone asks for it once. A URL without the right fingerprint (an old page, a
  hand-typed link) still works but is only revalidated (`no-cache`, with Flask's ETag).
- Public pages that read the same for everyone (`@public_page`: catalogue, course page,
  verification) carry a strong ETag computed from the bytes rendered, with `Cache-Control:
  public, no-cache`. A browser that comes back asks again and, if nothing changed, gets a
  bodiless 304. The ETag is the page itself, so a changed deadline, a new edition or the clock
  passing a deadline changes it at once: nothing is ever served stale, and nothing is stored
  on the server. A page that shows a flashed message (its session cookie changes) is `private`.
- Responses are compressed (Flask-Compress: gzip, or brotli for what accepts only that)
  unless COMPRESS_RESPONSES is off because a reverse proxy compresses (docs/deploy.md).
  Coordinator pages are never compressed by us: they carry a CSRF token next to what a search
  echoes back, which is what a BREACH attack needs. Flask-Compress gives a compressed
  representation its own ETag (`"…:gzip"`) and answers If-None-Match after compressing; for
  the uncompressed case `finish_response` answers it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable

from flask import Flask, Response, current_app, g, make_response, request, session
from flask_compress import Compress
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
#: Public pages: anyone may keep them, everyone must ask again before using them.
REVALIDATE = "public, no-cache"
#: Pages with a visitor's own CSRF token: only the browser keeps them, and asks again.
PERSONAL = "private, no-cache"
#: Pages echoing what a person typed (a refused form): not kept anywhere.
NOT_STORED = "private, no-store"
#: The query parameter carrying a static file's fingerprint.
VERSION_ARG = "v"
#: Paths we never compress (see the module docstring).
UNCOMPRESSED_PREFIXES = ("/coordinator",)

_compress = Compress()


def public_page(view: Callable) -> Callable:
    """Mark a view's page as the same for everyone: strong ETag from its bytes, 304 when the
    browser has it already, shared caches allowed (as long as they revalidate)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or response.is_streamed:
            return response
        response.add_etag()
        # A flash shown on this page was taken out of the session, whose cookie now changes;
        # a CSRF token (none of these pages has a POST form today) is the visitor's own: such a
        # page belongs to this visitor only.
        token_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        personal = session.modified or token_field in g
        response.headers["Cache-Control"] = PERSONAL if personal else REVALIDATE
        # The language (cookie or Accept-Language) and the country (Accept-Language) change it.
        # One update: each `vary.add` writes the whole header out again.
        response.vary.update(("Accept-Language", "Cookie"))
        return response

    return wrapper


def personal_form(response: Response, *, refused: bool = False) -> Response:
    """Headers for a page holding the visitor's own CSRF token: never answered 304 (it has no
    ETag), kept by no shared cache; a refused form, which echoes what was typed, kept by none."""
    response.headers["Cache-Control"] = NOT_STORED if refused else PERSONAL
    response.vary.add("Cookie")
    return response


@functools.lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    # Keyed by the file's modification time and size, so an edited file gets a new fingerprint
    # without a restart; reading it again only then.
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


def fingerprint(filename: str, folder: str | None = None) -> str | None:
    """The first 12 hex digits of the SHA-256 of static file `filename`, or None if missing."""
    path = safe_join(folder or current_app.static_folder or "", filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def _fingerprint_static_urls(endpoint: str, values: dict) -> None:
    """url_defaults: `url_for('static', filename=…)` gains `?v=<fingerprint>`."""
    if endpoint == "static" and "filename" in values and VERSION_ARG not in values:
        version = fingerprint(values["filename"])
        if version:
            values[VERSION_ARG] = version


def finish_response(response: Response) -> Response:
    """The last word on every response: immutable static files, compression, 304s."""
    if request.endpoint == "static" and response.status_code in (200, 304):
        filename = (request.view_args or {}).get("filename", "")
        wanted = request.args.get(VERSION_ARG)
        if wanted and wanted == fingerprint(filename):
            response.headers["Cache-Control"] = IMMUTABLE
    answered = False
    if current_app.config.get("COMPRESS_RESPONSES") and not request.path.startswith(
        UNCOMPRESSED_PREFIXES
    ):
        # Compresses, gives the compressed bytes their own ETag and answers If-None-Match.
        encoded = "Content-Encoding" in response.headers
        response = _compress.after_request(response)
        answered = not encoded and "Content-Encoding" in response.headers
    if (
        not answered  # Flask-Compress has already evaluated the compressed ETag
        and response.status_code == 200
        and request.method in ("GET", "HEAD")
        and not response.is_streamed
        and response.get_etag()[0]
    ):
        response.make_conditional(request)  # no compression: 304 against the plain ETag
    return response


def init_app(app: Flask) -> None:
    # Flask-Compress's own hook is not registered: finish_response calls it, so the order of
    # compression, ETag and 304 is written down in one place.
    app.config.setdefault("COMPRESS_REGISTER", False)
    # Streamed responses are compressed only when of a text type: static files (sent as a
    # stream), not the exports (CSV and XLSX are not in COMPRESS_MIMETYPES).
    app.config.setdefault("COMPRESS_STREAMS", True)
    # gzip first: on pages of a few KB brotli's fast levels save nothing measurable (1,871 and
    # 1,895 bytes for the personal page) at 1.7 times the CPU; brotli for what accepts only it.
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip", "br"])
    # finish_response counts on it: a response it compressed has had its 304 decided.
    app.config["COMPRESS_EVALUATE_CONDITIONAL_REQUEST"] = True
    _compress.init_app(app)
    app.url_defaults(_fingerprint_static_urls)
    app.after_request(finish_response)
