"""The participant's pages: `/my/<token>`, its modules, completion, name correction, lost link.

Handlers are thin: load the enrollment from the token (or 404), call a service, commit once,
and answer a POST with a redirect (303) and a flashed message.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import OperationalError

from courses import clock, limits
from courses.certificates.models import Certificate
from courses.certificates.services import CertificateError, change_name, current_certificate
from courses.certificates.sizes import DownloadSizes, keep_sizes, measure, stored_sizes
from courses.database import write_apart
from courses.extensions import db, limiter
from courses.forms import ActionForm
from courses.i18n import current_language
from courses.participants import pages, services
from courses.participants.forms import LostLinkForm, NameForm, quiz_answers, quiz_form
from courses.participants.lines import EnrollmentLine, home_lines
from courses.participants.services import CompletionRefused
from courses.registration import withdrawal
from courses.registration.models import Enrollment

log = logging.getLogger(__name__)

bp = Blueprint("participants", __name__)


@bp.after_request
def personal_data_is_not_cached(response: Response) -> Response:
    """Personal pages must not stay in shared caches or the browser's history cache."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _enrollment(token: str) -> Enrollment:
    enrollment = services.enrollment_by_token(token)
    if enrollment is None:
        abort(404)
    return enrollment


def _module(enrollment: Enrollment, number: int):
    module = services.module_by_position(enrollment, number)
    if module is None:
        abort(404)
    return module


@bp.get("/my/<token>")
def home(token: str):
    # The page people come back to: read as plain values (participants/lines.py); the ORM
    # objects only for what writes or needs them (a first visit, a certificate).
    enrollment = home_lines(token)
    if enrollment is None:
        abort(404)
    now = clock.now()
    if enrollment.confirmed_at is None:
        enrollment_id = enrollment.id
        try:
            # Only a first visit writes: the others take no lock (a hot page).
            with write_apart(db.session):
                services.confirm_email(enrollment_id, now)
        except OperationalError:
            # A busy database must not keep people from their page; the next visit confirms.
            log.warning("could not record the confirmation of enrollment %s", enrollment_id)
    cert = (
        db.session.get(Certificate, enrollment.certificate_id)
        if enrollment.certificate_id is not None
        else None
    )
    sizes = _kept_download_sizes(enrollment, cert)
    context = pages.home_context(enrollment, token, now, current_language(), cert, sizes)
    return render_template(
        "participants/home.html",
        name_form=NameForm(name=enrollment.name),
        **context,
    )


def _kept_download_sizes(
    enrollment: Enrollment | EnrollmentLine, cert: Certificate | None
) -> DownloadSizes | None:
    """The first visit after a certificate is issued (or changed) measures its downloads'
    sizes, shown beside the links, and keeps them: 25 ms once instead of on every visit.
    Returns the sizes (None without a valid certificate, or when the page must measure them),
    so that the page does not check them a second time."""
    if cert is None or cert.revoked_at is not None or enrollment.completed_at is None:
        return None
    sizes = stored_sizes(cert)
    if sizes is not None:
        return sizes
    measured = measure(cert)  # rendering only reads: done before the short write
    try:
        with write_apart(db.session):
            keep_sizes(cert, measured)
    except OperationalError:
        log.warning("could not keep the download sizes of certificate %s", measured.digest[:8])
    return measured.sizes


@bp.post("/my/<token>/name")
def correct_name(token: str):
    enrollment = _enrollment(token)
    form = NameForm()
    if form.validate_on_submit():
        try:
            change = change_name(enrollment, form.name.data, clock.now())
        except CertificateError as error:
            form.name.errors.append(error.message)
        else:
            db.session.commit()
            if change.outcome == "changed":
                flash(_("Listo: tu nombre quedó como «%(name)s».", name=change.name), "success")
            else:
                flash(
                    _(
                        "Recibimos tu solicitud de corrección («%(name)s»). La coordinación la "
                        "revisará y, si la aprueba, recibirás un certificado nuevo.",
                        name=change.name,
                    ),
                    "success",
                )
            return redirect(url_for(".home", token=token), code=303)
    db.session.rollback()
    context = pages.home_context(
        enrollment, token, clock.now(), current_language(), current_certificate(enrollment)
    )
    return render_template("participants/home.html", name_form=form, **context), 400


@bp.get("/my/<token>/modules/<int:number>")
def module(token: str, number: int):
    enrollment = _enrollment(token)
    module = _module(enrollment, number)
    language = current_language()
    play = request.args.get("play") == "1"
    context = pages.module_context(enrollment, module, token, clock.now(), language, play)
    form_class = quiz_form(module.questions or [], language)
    return render_template(
        "participants/module.html", action_form=ActionForm(), quiz=form_class(), **context
    )


def _refused(enrollment: Enrollment, module, token: str, message: str, quiz=None):
    """Show the module page again with the refusal; nothing was stored."""
    db.session.rollback()
    language = current_language()
    context = pages.module_context(enrollment, module, token, clock.now(), language, False)
    quiz = quiz or quiz_form(module.questions or [], language)()
    return (
        render_template(
            "participants/module.html",
            action_form=ActionForm(),
            quiz=quiz,
            refusal=message,
            **context,
        ),
        403 if message else 400,
    )


def _after_completion(token: str, number: int, certificate) -> Response:
    """Back to the module (PRG); to the personal page once the certificate is there."""
    if certificate is None:
        return redirect(url_for(".module", token=token, number=number), code=303)
    flash(_("¡Completaste todos los módulos! Tu certificado está listo."), "success")
    return redirect(url_for(".home", token=token), code=303)


@bp.post("/my/<token>/modules/<int:number>/complete")
def complete(token: str, number: int):
    enrollment = _enrollment(token)
    module = _module(enrollment, number)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        certificate = services.mark_module(enrollment, module, source="self", now=clock.now())
    except CompletionRefused as refusal:
        return _refused(enrollment, module, token, refusal.message)
    db.session.commit()
    flash(_("Módulo %(n)s marcado como completado.", n=number), "success")
    return _after_completion(token, number, certificate)


@bp.post("/my/<token>/modules/<int:number>/undo")
def undo(token: str, number: int):
    enrollment = _enrollment(token)
    module = _module(enrollment, number)
    if not ActionForm().validate_on_submit():
        abort(400)
    if services.completion_rule(module) != "self":
        abort(403)
    try:
        services.unmark_module(enrollment, module, now=clock.now())
    except CompletionRefused as refusal:
        return _refused(enrollment, module, token, refusal.message)
    db.session.commit()
    flash(_("Módulo %(n)s marcado como pendiente.", n=number), "success")
    return redirect(url_for(".module", token=token, number=number), code=303)


@bp.post("/my/<token>/modules/<int:number>/quiz")
def quiz(token: str, number: int):
    enrollment = _enrollment(token)
    module = _module(enrollment, number)
    questions = module.questions or []
    form = quiz_form(questions, current_language())()
    if not form.validate_on_submit():
        return _refused(enrollment, module, token, "", quiz=form)
    try:
        result = services.submit_quiz(
            enrollment, module, quiz_answers(form, len(questions)), now=clock.now()
        )
    except CompletionRefused as refusal:
        return _refused(enrollment, module, token, refusal.message)
    db.session.commit()
    if result.passed:
        flash(
            _("¡Aprobaste el módulo %(n)s con %(score)s %%!", n=number, score=result.score),
            "success",
        )
        return _after_completion(token, number, result.certificate)
    wrong = ", ".join(str(n) for n in result.wrong)
    flash(
        ngettext(
            "Obtuviste %(score)s %% y necesitas %(mark)s %%. Revisa la pregunta %(wrong)s "
            "e inténtalo de nuevo.",
            "Obtuviste %(score)s %% y necesitas %(mark)s %%. Revisa las preguntas "
            "%(wrong)s e inténtalo de nuevo.",
            len(result.wrong),
            score=result.score,
            mark=result.pass_mark,
            wrong=wrong,
        ),
        "warning",
    )
    return redirect(url_for(".module", token=token, number=number), code=303)


@bp.route("/my/<token>/withdraw", methods=["GET", "POST"])
def withdraw(token: str):
    """GET: "¿Seguro?" with the button; POST (CSRF): leave the edition, the seat goes on."""
    enrollment = _enrollment(token)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            withdrawal.withdraw(enrollment, clock.now())
        except withdrawal.WithdrawalRefused as refusal:
            db.session.rollback()
            flash(refusal.message, "error")
            return redirect(url_for(".home", token=token), code=303)
        db.session.commit()
        flash(_("Dejaste la edición. Gracias por avisar: tu cupo pasa a otra persona."), "success")
        return redirect(url_for(".home", token=token), code=303)
    context = pages.home_context(
        enrollment, token, clock.now(), current_language(), current_certificate(enrollment)
    )
    return render_template("participants/withdraw.html", form=form, **context)


@bp.route("/my/lost", methods=["GET", "POST"])
@limiter.limit(limits.LOST_LINK_PER_CLIENT, methods=["POST"])
@limiter.limit(limits.LOST_LINK_PER_EMAIL, key_func=limits.form_contact_key, methods=["POST"])
def lost():
    """Send the personal links again, found by e-mail or by phone; the same answer for all."""
    language = current_language()
    form = LostLinkForm()
    form.offer_countries(pages.lost_countries(language))
    if request.method == "POST":
        if not form.validate_on_submit():
            return _lost_page(form, language), 400
        if form.email.data:
            services.resend_links(form.email.data, clock.now(), language)
        else:
            services.resend_links_by_phone(form.e164(), clock.now(), language)
        db.session.commit()
        # The same answer whether or not anyone matched: nothing to learn here.
        flash(
            _(
                "Si ese correo o ese teléfono está inscrito en algún curso, te enviamos ahora "
                "un mensaje con tus enlaces personales al correo de tu inscripción. Revisa "
                "también la carpeta de spam. Si no llega, escribe a una de las personas de "
                "contacto de abajo."
            ),
            "success",
        )
        country = form.country.data if not form.email.data else ""
        return redirect(url_for(".lost", country=country or None), code=303)
    if request.args.get("country"):
        form.country.data = request.args["country"].upper()[:2]
    return _lost_page(form, language)


def _lost_page(form: LostLinkForm, language: str) -> str:
    country = form.country.data or None
    return render_template(
        "participants/lost.html", form=form, contacts=pages.lost_contacts(language, country)
    )
