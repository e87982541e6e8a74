"""Registration pages: the form (`registration.register`, sent to `registration.submit`) and
its confirmation."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from courses import clock, limits
from courses.catalog.contacts import course_contacts
from courses.catalog.lines import EditionLine
from courses.catalog.models import Edition
from courses.catalog.services import (
    current_edition,
    edition_lines_or_404,
    get_course_or_404,
    get_edition_or_404,
    is_full,
    open_edition,
    registration_state,
)
from courses.database import read_only
from courses.extensions import db, limiter
from courses.i18n import (
    browser_country,
    country_name,
    current_language,
    localized,
)
from courses.participants.pages import whatsapp_link
from courses.registration import notices, rules, services
from courses.registration.forms import NoticeForm, RegistrationForm, labels, registration_form
from courses.registration.models import Enrollment
from courses.site.http_cache import personal_form
from courses.site.views import fixed_url

bp = Blueprint("registration", __name__)

#: Session key remembering the last outcome, so the confirmation page can say it.
OUTCOME = "registration_outcome"


#: The form's address: shown by `register` (GET), sent to `submit` (POST).
FORM_PATH = "/courses/<course>/<edition>/register"


@bp.get(FORM_PATH)
def register(course: str, edition: str):
    """Show the form (its POST goes to `submit`, at the same address)."""
    # A view of its own, without the POST's rate limits: Flask-Limiter's two wrappers looked at
    # every showing of the form (a hundred calls) only to find that GETs have no limit.
    return personal_form(make_response(_empty_form(course, edition)))


@bp.post(FORM_PATH)
@limiter.limit(limits.REGISTRATION_PER_CLIENT)
@limiter.limit(limits.REGISTRATION_PER_EMAIL, key_func=limits.form_email_key)
def submit(course: str, edition: str):
    """Register: 303 to the confirmation, or 4xx with the form and its errors."""
    now = clock.now()
    language = current_language()
    refusal, status, suggestion, draft = None, 200, None, None
    # Everything that needs nobody else's row (the edition, the form, every field's rule, the
    # confirmation's rendering) runs in a reading transaction: on SQLite the writing one takes
    # the database's single write lock, which should cover only the duplicate check, the seat
    # and the inserts.
    with read_only():
        # As plain values, as the empty form reads it: the rules, the confirmation and a
        # refused form shown again only read the edition and its course.
        found = edition_lines_or_404(course, edition)
        form = _form(found, language)
        if form.suggested_email.data:
            # The person tapped "¿Quisiste decir …?": that address, exactly as we suggested it.
            form.email.data = form.email_as_typed.data = form.suggested_email.data
            form.suggested_email.data = ""
        try:
            applicant = services.check(found, _applicant(form), language=language, now=now)
            draft = services.prepare(
                found,
                applicant,
                language=language,
                now=now,
                privacy_version=current_app.config["PRIVACY_NOTICE_VERSION"],
            )
        except services.RegistrationClosed as error:
            refusal, status = error.message, 403
        except rules.InvalidRegistration as error:
            for field, message in error.errors.items():
                form[field].errors = [message]
            suggestion = error.suggestion
            if suggestion:
                form.email_as_typed.data = form.email.data
            status = 422
        db.session.rollback()  # the reading transaction ends; the next one may write
    if draft is not None:
        result = services.register(found, draft, language=language, now=now)
        remembered = {
            "edition": result.enrollment.edition_id,
            "outcome": result.outcome,
            "enrollment": result.enrollment.id,
        }
        db.session.commit()
        # The confirmation page shows the personal link only to this browser's session.
        session[OUTCOME] = remembered
        return redirect(url_for(".registered", course=course, edition=edition), code=303)
    with read_only():  # the refused form is shown again: only reads
        chosen = (form.country.data or request.args.get("country") or "").upper()
        page = _page(found, now, language, chosen)
        html = render_template(
            "registration/register.html",
            form=form,
            refusal=refusal,
            suggestion=suggestion,
            summary=_error_summary(form),
            **page,
        )
        db.session.rollback()
    return personal_form(make_response(html, status), refused=True)


def _form(found: Edition | EditionLine, language: str) -> RegistrationForm:
    form = registration_form(found.course.questions or [], language)
    form.offer_countries(list(found.course.countries), language)
    return form


def _error_summary(form: RegistrationForm) -> list[tuple[str, str, str]]:
    """(anchor, label, message) for each refused field, in the order of the form."""
    names = labels()
    summary = []
    for field in form:
        if not field.errors or field.name == "csrf_token":
            continue
        anchor = f"{field.id}-0" if field.type == "RadioField" else field.id
        label = names.get(field.name) or str(field.label.text)
        summary.append((anchor, label, field.errors[0]))
    return summary


def _empty_form(course: str, edition: str) -> str:
    """The form as first shown; ?country=XX preselects a country and shows its time.

    Read as plain values (catalog/lines.py), as the course page is: the form only reads, and
    the ORM's edition with its course was a quarter of the page's CPU."""
    found = edition_lines_or_404(course, edition)
    language = current_language()
    form = _form(found, language)
    # An explicit choice (from the course page) wins; else the browser's region (es-PE).
    chosen = (request.args.get("country") or browser_country() or "").upper()
    if chosen in found.course.countries:
        form.country.data = chosen
    elif len(found.course.countries) == 1:
        form.country.data = found.course.countries[0]
    page = _page(found, clock.now(), language, chosen)
    return render_template(
        "registration/register.html", form=form, refusal=None, suggestion=None, summary=[], **page
    )


@bp.get("/courses/<course>/<edition>/registered")
def registered(course: str, edition: str):
    """ "Revisa tu correo": the address the link went to, and the link itself for the browser
    that just registered (never for an address that was already registered)."""
    found = get_edition_or_404(course, edition)
    language = current_language()
    remembered = session.get(OUTCOME) or {}
    outcome, email, link, whatsapp = None, None, None, None
    if remembered.get("edition") == found.id:
        outcome = remembered.get("outcome")
        enrollment = db.session.get(Enrollment, remembered.get("enrollment") or 0)
        # An address already registered shows nothing of the first registration, not even
        # how its address was written: the notice says the link went "a ese correo".
        fresh = outcome != services.ALREADY
        if fresh and enrollment is not None and enrollment.edition_id == found.id:
            if enrollment.erased_at is None:
                email = enrollment.email
                token = services.enrollment_token(enrollment)
                link = url_for("participants.home", token=token)
                whatsapp = whatsapp_link(enrollment, token, language)
    page = _page(found, clock.now(), language, "")
    response = make_response(
        render_template(
            "registration/registered.html",
            outcome=outcome,
            email=email,
            personal_url=link,
            whatsapp_link=whatsapp,
            **page,
        )
    )
    # It may show a personal link: never kept by a shared cache or the browser's history.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _applicant(form: RegistrationForm) -> rules.Applicant:
    return rules.Applicant(
        name=form.name.data or "",
        email=form.email.data or "",
        phone=form.phone.data or "",
        country=form.country.data or "",
        organization=form.organization.data or "",
        consent=bool(form.consent.data),
        email_as_typed=form.email_as_typed.data or "",
        answers=form.answers(),
    )


def _page(edition: Edition | EditionLine, now, language: str, chosen: str) -> dict:
    """Plain values both pages show: course, edition, state in words, phone examples."""
    course = edition.course
    countries = list(course.countries)
    return {
        "edition": edition,
        "course_title": localized(course.title, language),
        "course_url": fixed_url("catalog.course", course=course.slug),
        "registration": registration_state(edition, now, language, country=chosen or None),
        "chosen_country": chosen,
        # "Chile: +56 9 6123 4567 · Perú: …", joined here rather than by two Jinja filters.
        "phone_examples": " · ".join(
            f"{country_name(code, language)}: {rules.phone_example(code)}" for code in countries
        ),
        "contacts": course_contacts(course, language, chosen if chosen in countries else None),
        "full": edition.state(now) == "open" and is_full(edition),
        **_elsewhere(edition, now, language),
    }


def _elsewhere(
    edition: Edition | EditionLine, now, language: str, notice_form: NoticeForm | None = None
):
    """For an edition not taking registrations: the open one, else the "avísame" form."""
    other = open_edition(edition.course, now)
    if edition.state(now) == "open" or (other is not None and other is not edition):
        url = (
            fixed_url("registration.register", course=edition.course.slug, edition=other.slug)
            if other
            else None
        )
        return {"open_edition_url": url, "open_edition_slug": other.slug if other else None}
    if notice_form is None:
        notice_form = NoticeForm(formdata=None)
        notice_form.country.data = browser_country()
    notice_form.offer_countries(list(edition.course.countries), language)
    return {
        "open_edition_url": None,
        "open_edition_slug": None,
        "notice_form": notice_form,
        "course_slug": edition.course.slug,
    }


@bp.route("/courses/<course>/notify", methods=["GET", "POST"])
@limiter.limit(limits.REGISTRATION_PER_CLIENT, methods=["POST"])
@limiter.limit(limits.LOST_LINK_PER_EMAIL, key_func=limits.form_contact_key, methods=["POST"])
def notify(course: str):
    """ "Avísame": one message when the course opens again (POST stores it; 303 back)."""
    found = get_course_or_404(course)
    language = current_language()
    now = clock.now()
    form = NoticeForm() if request.method == "POST" else None
    status, summary = 200, []
    if form is not None:
        try:
            notices.ask_to_be_told(
                found,
                email=form.email.data or "",
                phone=form.phone.data or "",
                country=(form.country.data or "").upper(),
                consent=bool(form.consent.data),
                language=language,
                now=now,
            )
        except rules.InvalidRegistration as error:
            db.session.rollback()
            names = labels()
            for field, message in error.errors.items():
                form[field].errors = [message]
                anchor = "notice-consent" if field == "consent" else field
                summary.append((anchor, names.get(field, field), message))
            status = 422
        else:
            db.session.commit()
            flash(
                _("Listo: te enviaremos un solo mensaje cuando abran las inscripciones."), "success"
            )
            return redirect(url_for("catalog.course", course=found.slug), code=303)
    edition = current_edition(found, now)
    elsewhere = _elsewhere(edition, now, language, form) if edition is not None else {}
    if edition is None:
        form = form or NoticeForm(formdata=None)
        form.offer_countries(list(found.countries), language)
        elsewhere = {"notice_form": form, "course_slug": found.slug, "open_edition_url": None}
    page = render_template(
        "registration/notify.html",
        course_title=localized(found.title, language),
        course_url=url_for("catalog.course", course=found.slug),
        summary=summary,
        **elsewhere,
    )
    return page, status
