"""Language switch and the privacy notice."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from courses.catalog.contacts import all_contacts
from courses.i18n import LANGUAGE_COOKIE, current_language
from courses.site.redirects import safe_next

bp = Blueprint("site", __name__)

ONE_YEAR = 365 * 24 * 3600


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
    here = request.full_path.rstrip("?") if request else "/"
    return {
        "language": language,
        "language_links": [
            (code, label, url_for("site.switch_language", code=code, next=here))
            for code, label in (("es", "Español"), ("en", "English"))
        ],
    }
