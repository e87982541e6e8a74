"""Catalogue and course pages."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from courses import clock
from courses.catalog import services
from courses.catalog.forms import CountryTimeForm
from courses.i18n import browser_country, country_name, current_language
from courses.site.http_cache import public_page
from courses.site.views import fixed_url

bp = Blueprint("catalog", __name__)


@bp.get("/")
@public_page
def index():
    """Every course with its current edition: open first, then upcoming, then closed."""
    return render_template(
        "catalog/index.html", entries=services.catalogue(clock.now(), current_language())
    )


@bp.get("/courses/<course>")
@public_page
def course(course: str):
    """A course, its modules and the registration state of its current edition."""
    found = services.course_lines_or_404(course)
    language = current_language()
    countries = [(code, country_name(code, language)) for code in found.countries]
    form = CountryTimeForm(countries, formdata=request.args)
    chosen = form.chosen()
    if chosen is None and browser_country() in found.countries:
        chosen = form.country.data = browser_country()
    page = services.course_page(found, clock.now(), language, chosen)
    register_url = None
    if page.current is not None and page.current.registration.state == services.OPEN:
        # The country read here is carried into the form (preselected, its time shown).
        register_url = register_link(page.slug, page.current.slug)
        if chosen:
            register_url += f"?country={chosen}"
    other_links = {
        e.slug: register_link(page.slug, e.slug) if e.registration.state == services.OPEN else None
        for e in page.others
    }
    return render_template(
        "catalog/course.html",
        page=page,
        form=form,
        register_url=register_url,
        other_links=other_links,
    )


def register_link(course: str, edition: str) -> str:
    """The registration form's address (the registration feature owns the endpoint)."""
    return fixed_url("registration.register", course=course, edition=edition)
