"""Language switch and the privacy notice."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from courses.catalog.contacts import all_contacts
from courses.i18n import LANGUAGE_COOKIE, current_language

bp = Blueprint("site", __name__)

ONE_YEAR = 365 * 24 * 3600


def _safe_next(target: str | None) -> str:
    """Only ever go back to a path on this site (never an open redirect)."""
    if not target:
        return url_for("catalog.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("catalog.index")
    return target


@bp.get("/language/<code>")
def switch_language(code: str):
    """Remember the chosen language in a cookie and go back to the page the visitor was on."""
    response = redirect(_safe_next(request.args.get("next")), code=303)
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
    here = request.full_path.rstrip("?") if request else "/"
    return {
        "language": language,
        "language_links": [
            (code, label, url_for("site.switch_language", code=code, next=here))
            for code, label in (("es", "Español"), ("en", "English"))
        ],
    }
