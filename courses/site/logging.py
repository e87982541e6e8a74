"""A request id on every response and every log line, and no secrets in any of them.

The id comes from the reverse proxy's X-Request-ID header when it looks sane, or is generated;
it is echoed in the response's X-Request-ID header and added to every log record as
`request_id` ("-" outside a request).

Whoever reads the logs must not be able to open a personal page: `mask_secrets` replaces the
token of every `/my/<token>` path and every query-string value (coordinators' searches, a
`next=` carrying a personal path) before a line is written, by the app's handler and by
gunicorn's access and error logs (gunicorn.conf.py).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
#: What we accept from outside: short, printable, no spaces (it ends up in log lines).
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

#: What replaces a secret in a log line.
MASK = "***"
#: A personal link's token: the path segment after /my/ (the "lost link" page is not one).
_PERSONAL_TOKEN = re.compile(r"(/my/)(?!lost(?:[/?\s\"']|$))[^/?#\s\"']+", re.IGNORECASE)
#: A query-string value: personal search terms, or a `next=` that carries a personal path.
_QUERY_VALUE = re.compile(r"([?&][^=&?#\s\"']*=)[^&#\s\"']+")


def mask_secrets(text: str) -> str:
    """`text` with personal-link tokens and query-string values replaced by ***."""
    text = _PERSONAL_TOKEN.sub(lambda m: m.group(1) + MASK, text)
    return _QUERY_VALUE.sub(lambda m: m.group(1) + MASK, text)


def request_line() -> str:
    """The current request's method and path, safe to log (no token, no query values)."""
    if not has_request_context():
        return "-"
    return mask_secrets(f"{request.method} {request.full_path.rstrip('?')}")


class MaskSecrets(logging.Filter):
    """A handler filter that writes each record's message (and traceback) through mask_secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


def mask_handlers(logger: logging.Logger) -> None:
    """Put MaskSecrets on every handler of `logger` (once each)."""
    for handler in logger.handlers:
        if not any(isinstance(f, MaskSecrets) for f in handler.filters):
            handler.addFilter(MaskSecrets())


def current_request_id() -> str:
    """The id of the request being served, or "-" outside a request."""
    if has_request_context():
        return g.get("request_id", "-")
    return "-"


def _install_record_factory() -> None:
    """Give every log record, from any library, a `request_id` attribute (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _install_handler(app: Flask) -> None:
    """Send the application's log lines to standard error with the request id."""
    logger = logging.getLogger("courses")
    if any(getattr(handler, "adds_request_id", False) for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.adds_request_id = True  # type: ignore[attr-defined]
    handler.addFilter(MaskSecrets())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    _install_record_factory()
    if not app.testing:
        _install_handler(app)
    # The development server's request lines (`make run`) go through its own logger.
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, MaskSecrets) for f in werkzeug.filters):
        werkzeug.addFilter(MaskSecrets())

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _ACCEPTABLE.match(given) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers[HEADER] = current_request_id()
        return response
