"""Registration pages: the form (`registration.register`) and its confirmation."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from courses import clock, limits
from courses.catalog.models import Edition
from courses.catalog.services import get_edition_or_404, registration_state
from courses.extensions import db, limiter
from courses.i18n import COUNTRY_TIMEZONES, country_name, current_language, localized
from courses.registration import rules, services
from courses.registration.forms import RegistrationForm
from courses.site.pagecache import shared_page

bp = Blueprint("registration", __name__)

#: Session key remembering the last outcome, so the confirmation page can say it.
OUTCOME = "registration_outcome"


@bp.route("/courses/<course>/<edition>/register", methods=["GET", "POST"])
@limiter.limit(limits.REGISTRATION_PER_CLIENT, methods=["POST"])
@limiter.limit(limits.REGISTRATION_PER_EMAIL, key_func=limits.form_email_key, methods=["POST"])
def register(course: str, edition: str):
    """Show the form (GET) or register (POST: 303 to the confirmation, or 4xx with errors)."""
    if request.method != "POST":
        # The empty form reads the same for everyone but for the CSRF token (see pagecache).
        return shared_page(lambda: _empty_form(course, edition))
    found = get_edition_or_404(course, edition)
    now = clock.now()
    language = current_language()
    form = _form(found, language)
    refusal, status = None, 200
    try:
        result = services.register(
            found,
            _applicant(form),
            language=language,
            now=now,
            privacy_version=current_app.config["PRIVACY_NOTICE_VERSION"],
        )
    except services.RegistrationClosed as error:
        refusal, status = error.message, 403
    except services.InvalidRegistration as error:
        for field, message in error.errors.items():
            form[field].errors = [message]
        status = 422
    else:
        edition_id = found.id
        db.session.commit()
        session[OUTCOME] = {"edition": edition_id, "outcome": result.outcome}
        return redirect(url_for(".registered", course=course, edition=edition), code=303)
    chosen = (request.args.get("country") or "").upper()
    page = _page(found, now, language, chosen)
    return render_template("registration/register.html", form=form, refusal=refusal, **page), status


def _form(found: Edition, language: str) -> RegistrationForm:
    form = RegistrationForm()
    form.offer_countries(list(found.course.countries), language)
    return form


def _empty_form(course: str, edition: str) -> str:
    """The form as first shown; ?country=XX preselects a country and shows its time."""
    found = get_edition_or_404(course, edition)
    language = current_language()
    form = _form(found, language)
    chosen = (request.args.get("country") or "").upper()
    if chosen in found.course.countries:
        form.country.data = chosen
    elif len(found.course.countries) == 1:
        form.country.data = found.course.countries[0]
    page = _page(found, clock.now(), language, chosen)
    return render_template("registration/register.html", form=form, refusal=None, **page)


@bp.get("/courses/<course>/<edition>/registered")
def registered(course: str, edition: str):
    """ "Revisa tu correo": what happened, without showing anyone's personal data."""
    found = get_edition_or_404(course, edition)
    remembered = session.get(OUTCOME) or {}
    outcome = remembered.get("outcome") if remembered.get("edition") == found.id else None
    page = _page(found, clock.now(), current_language(), "")
    return render_template("registration/registered.html", outcome=outcome, **page)


def _applicant(form: RegistrationForm) -> services.Applicant:
    return services.Applicant(
        name=form.name.data or "",
        email=form.email.data or "",
        phone=form.phone.data or "",
        country=form.country.data or "",
        organization=form.organization.data or "",
        consent=bool(form.consent.data),
    )


def _page(edition: Edition, now, language: str, chosen: str) -> dict:
    """Plain values both pages show: course, edition, state in words, phone examples."""
    course = edition.course
    countries = list(course.countries)
    return {
        "edition": edition,
        "course_title": localized(course.title, language),
        "course_url": f"/courses/{course.slug}",
        "registration": registration_state(edition, now, language, country=chosen or None),
        "time_countries": [
            (code, country_name(code, language)) for code in countries if code in COUNTRY_TIMEZONES
        ],
        "chosen_country": chosen,
        "phone_examples": [
            (country_name(code, language), rules.phone_example(code)) for code in countries
        ],
    }
