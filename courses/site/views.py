"""Language switch and the privacy notice."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.globals import _cv_request

from courses.catalog.contacts import all_contacts
from courses.i18n import LANGUAGE_COOKIE, current_language
from courses.site.redirects import safe_next

bp = Blueprint("site", __name__)

ONE_YEAR = 365 * 24 * 3600
#: View arguments that are a person's secret or point at one person (a personal link's token,
#: a certificate's code): the language links of such a page are built afresh and kept nowhere.
PERSONAL_ARGS = frozenset({"token", "code"})


@bp.get("/language/<code>")
def switch_language(code: str):
    """Remember the chosen language in a cookie and go back to the page the visitor was on."""
    response = redirect(safe_next(request.args.get("next"), url_for("catalog.index")), code=303)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=ONE_YEAR,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.get("/privacy")
def privacy():
    return render_template(
        "site/privacy.html",
        version=current_app.config["PRIVACY_NOTICE_VERSION"],
        contacts=all_contacts(current_language()),
    )


def template_globals() -> dict:
    """Values every template may use: the language and links to switch it."""
    language = current_language()
    # The request from its context variable, as Flask's own context processor reads it: each
    # use of the `request` proxy is four calls more.
    context = _cv_request.get(None)
    if context is None:  # an e-mail: url_for builds external links there, kept nowhere
        return {"language": language, "language_links": _links("/")}
    request = context.request
    here = request.full_path.rstrip("?")
    if request.query_string or PERSONAL_ARGS.intersection(request.view_args or {}):
        # A query string may be a search for a name or an address; neither it nor a token
        # may stay in the process's memory after the request.
        return {"language": language, "language_links": _links(here)}
    return {"language": language, "language_links": _links_in_request(request.script_root, here)}


def _links(here: str) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (code, label, url_for("site.switch_language", code=code, next=here))
        for code, label in (("es", "Español"), ("en", "English"))
    )


# The same two links on every page of a public path: built once per (mount point, path), as
# url_for would build them again (the URL map does not change while the process runs).
@lru_cache(maxsize=512)
def _links_in_request(script_root: str, here: str) -> tuple[tuple[str, str, str], ...]:
    return _links(here)


def fixed_url(endpoint: str, **values: str) -> str:
    """`url_for` for the links every page carries (the stylesheet, the header's and footer's)
    and a public page's own (a course's, an edition's form, by their slugs): built once per
    mount point and values. They read the same on every visit, and the URL map does not
    change while the process runs; nor do static files outside debug, whose fingerprint
    (`?v=`) would otherwise cost a stat of the file on every page. Never for personal values
    (a token, a code, what a person typed): what is built here stays in the process's memory."""
    # Several links on every page: the request context is read from its variable once (as in
    # `template_globals`), and most links have no values.
    context = _cv_request.get(None)
    if context is None:  # no request: an e-mail's external links
        return url_for(endpoint, **values)
    if context.app.debug:  # files being edited
        return url_for(endpoint, **values)
    return _fixed_url(
        context.request.script_root, endpoint, tuple(sorted(values.items())) if values else ()
    )


@lru_cache(maxsize=512)
def _fixed_url(script_root: str, endpoint: str, values: tuple[tuple[str, str], ...]) -> str:
    return url_for(endpoint, **dict(values))
