"""A request id on every response and every log line, so one failure can be traced end to end.

The id comes from the reverse proxy's X-Request-ID header when it looks sane, or is generated;
it is echoed in the response's X-Request-ID header and added to every log record as
`request_id` ("-" outside a request).
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
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    _install_record_factory()
    if not app.testing:
        _install_handler(app)

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get(HEADER, "")
        g.request_id = given if _ACCEPTABLE.match(given) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers[HEADER] = current_request_id()
        return response
