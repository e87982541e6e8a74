"""Certificate downloads (PDF, PNG) for their holder, and the public verification pages.

A revoked certificate is not handed out any more: its PDF and PNG answer 410 Gone with a page
that says when it was revoked (the holder sees the same on `/my/<token>`). A superseded one
(after a name correction) is simply not current: the downloads give the new one.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from courses import limits
from courses.certificates import codes
from courses.certificates.content import edition_name, hours_text, total_minutes
from courses.certificates.documents import render_pdf
from courses.certificates.models import Certificate
from courses.certificates.picture import render_png
from courses.certificates.services import certificate_state, current_certificate, find_by_code
from courses.extensions import limiter
from courses.i18n import current_language, format_day, localized
from courses.participants.services import enrollment_by_token
from courses.site.errors import render_error
from courses.site.http_cache import public_page

bp = Blueprint("certificates", __name__)


def _holder_certificate(token: str) -> Certificate | Response:
    """The current certificate behind a personal link, or the error response to send instead."""
    enrollment = enrollment_by_token(token)
    if enrollment is None or enrollment.is_waiting:
        abort(404)
    cert = current_certificate(enrollment)
    if cert is None:
        abort(404)
    if cert.revoked_at is not None:
        body, status = render_error(
            410,
            _(
                "Este certificado fue revocado el %(date)s. Si crees que es un error, escribe "
                "a la coordinación del curso.",
                date=format_day(cert.revoked_at, enrollment.edition.course.timezone),
            ),
        )
        return _private(Response(body, status=status, mimetype="text/html"))
    return cert


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _download(data: bytes, mimetype: str, filename: str, disposition: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return _private(response)


@bp.get("/my/<token>/certificate.pdf")
def pdf(token: str):
    cert = _holder_certificate(token)
    if isinstance(cert, Response):
        return cert
    name = f"certificado-{codes.format_code(cert.code)}.pdf"
    # A download: a phone keeps the file to show later, offline.
    # ?lang=en|es: the same certificate in the other language, for a buyer abroad.
    language = request.args.get("lang")
    return _download(render_pdf(cert, language), "application/pdf", name, "attachment")


@bp.get("/my/<token>/certificate.png")
def png(token: str):
    cert = _holder_certificate(token)
    if isinstance(cert, Response):
        return cert
    name = f"certificado-{codes.format_code(cert.code)}.png"
    return _download(render_png(cert, request.args.get("lang")), "image/png", name, "inline")


def _code_problem(error: codes.CodeError) -> str:
    if error.reason == "check":
        return _(
            "Ese código tiene un error de escritura: revisa cada letra y número e "
            "inténtalo de nuevo."
        )
    if error.reason == "characters":
        return _("El código solo lleva letras y números, y nunca 0, 1, O, I ni L. Revísalo.")
    return _("El código tiene 10 caracteres, como ABCDE-23456. Revísalo.")


@bp.get("/verify")
@limiter.limit(limits.VERIFY_PER_CLIENT)
@public_page
def verify_form():
    typed = request.args.get("code", "").strip()
    if not typed:
        return render_template("certificates/verify_form.html", typed="", problem=None)
    try:
        code = codes.normalize(typed)
    except codes.CodeError as error:
        return render_template(
            "certificates/verify_form.html", typed=typed[:40], problem=_code_problem(error)
        ), 400
    return redirect(url_for(".verify", code=code), code=303)


@bp.get("/verify/<code>")
@limiter.limit(limits.VERIFY_PER_CLIENT)
@public_page
def verify(code: str):
    try:
        normalized = codes.normalize(code)
    except codes.CodeError as error:
        # No certificate can have this code: not found, saying what looks wrong in it.
        return render_template(
            "certificates/verify_form.html", typed=code[:40], problem=_code_problem(error)
        ), 404
    cert = find_by_code(normalized)
    if cert is None:
        return render_template("certificates/verify_unknown.html", code=normalized), 404
    edition = cert.enrollment.edition
    timezone = edition.course.timezone
    successor = cert.superseded_by
    response = Response(
        render_template(
            "certificates/verify.html",
            state=certificate_state(cert),
            code=codes.format_code(cert.code),
            holder_name=cert.holder_name,
            course_title=localized(edition.course.title),
            edition_slug=edition_name(edition, current_language()),
            modules=[
                f"{module.position}. {localized(module.title)}" for module in edition.course.modules
            ],
            hours=hours_text(minutes, current_language())
            if (minutes := total_minutes(edition.course))
            else None,
            issued=format_day(cert.issued_at, timezone),
            revoked=format_day(cert.revoked_at, timezone) if cert.revoked_at else None,
            superseded=format_day(cert.superseded_at, timezone) if cert.superseded_at else None,
            successor_code=successor.code if successor else None,
            successor_display=codes.format_code(successor.code) if successor else None,
        )
    )
    # A revocation must show at once: @public_page lets caches keep the page but makes them
    # ask again (no-cache, with the page's ETag).
    response.headers["X-Robots-Tag"] = "noindex"
    return response
