"""Error pages in plain words. None of them shows a trace, a query or a setting."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from courses.api.problems import is_api_request, problem_for_status
from courses.extensions import db
from courses.site.logging import request_line

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Solicitud no válida"), _("No pudimos entender lo que enviaste.")),
        403: (_("Acceso denegado"), _("No tienes permiso para ver esta página.")),
        404: (
            _("Página no encontrada"),
            _("La dirección no existe o ya no está disponible. Revisa el enlace."),
        ),
        405: (_("Acción no permitida"), _("Esta página no acepta esa acción.")),
        413: (
            _("Envío demasiado grande"),
            _("Lo que enviaste es demasiado grande. Revisa los datos e inténtalo de nuevo."),
        ),
        429: (
            _("Demasiados intentos"),
            _("Hiciste muchos intentos seguidos. Espera un momento y vuelve a intentarlo."),
        ),
        500: (
            _("Algo salió mal"),
            _("Tuvimos un problema de nuestro lado. Inténtalo de nuevo en unos minutos."),
        ),
        503: (
            _("Servicio no disponible"),
            _("El servicio está en mantenimiento o con problemas. Vuelve a intentarlo pronto."),
        ),
    }


def render_error(code: int, detail: str | None = None, retry_after: str | None = None):
    title, text = _messages().get(code, (_("Error"), _("No pudimos completar la solicitud.")))
    return (
        render_template(
            "site/error.html", code=code, title=title, text=detail or text, retry_after=retry_after
        ),
        code,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            _(
                "El formulario expiró o llegó incompleto. Vuelve atrás, recarga la página "
                "y envíalo de nuevo."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if is_api_request():  # partner systems get problem+json, never an HTML page
            return problem_for_status(error.code, getattr(error, "valid_methods", None))
        detail = None
        if error.code == 429:
            # One sentence that says when, instead of "a moment" beside "60 minutes".
            detail = _retry_after_words(error)
        response = render_error(error.code, detail)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return (*response, {"Allow": ", ".join(error.valid_methods)})
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(error: Exception):
        # The database is down or unreachable: say so, roll back, and let the pool reconnect
        # (pool_pre_ping) on the next request.
        log.error("database error on %s: %s", request_line(), _first_line(error))
        db.session.rollback()
        return problem_for_status(503) if is_api_request() else render_error(503)

    @app.errorhandler(DataError)
    def unusable_value(error: DataError):
        # A value the database refuses to compare or store (a NUL character in a URL on
        # PostgreSQL, a number out of range): the request is malformed, the database is fine.
        log.warning("unusable value on %s: %s", request_line(), _first_line(error))
        db.session.rollback()
        return problem_for_status(400) if is_api_request() else render_error(400)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s", request_line())
        db.session.rollback()
        return problem_for_status(500) if is_api_request() else render_error(500)


def _first_line(error: DBAPIError) -> str:
    """The driver's own first line (no SQL, no parameters: those may hold personal data)."""
    text = str(getattr(error, "orig", None) or type(error).__name__)
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def _retry_after_words(error: HTTPException) -> str | None:
    limit = getattr(error, "limit", None)
    if limit is None:
        return None
    seconds = limit.limit.get_expiry()
    if seconds <= 90:
        return _(
            "Hiciste muchos intentos seguidos. Vuelve a intentarlo en %(n)s segundos.", n=seconds
        )
    return _(
        "Hiciste muchos intentos seguidos. Vuelve a intentarlo en %(n)s minutos.",
        n=max(1, round(seconds / 60)),
    )
