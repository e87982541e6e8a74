"""What every page shares: language switch, privacy notice, error pages, response headers,
HTTP caching and compression."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter


class DatabaseInteger(IntegerConverter):
    """`<int:…>` in URLs, limited to what a database integer column holds: a larger number
    is simply not found (404), instead of overflowing the database driver."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    from courses.i18n import install_template_gettext
    from courses.registration.rules import printable
    from courses.site import errors, headers, health, http_cache, logging, sessions
    from courses.site.views import bp, fixed_url, template_globals

    # Before any blueprint adds its rules, so every `<int:…>` uses it.
    app.url_map.converters["int"] = DatabaseInteger
    # Every value a page or e-mail shows, without control or bidirectional characters: data
    # stored before the name rule (a U+202E in a name) must not reorder what follows it.
    app.jinja_env.finalize = printable
    install_template_gettext(app)
    app.jinja_env.globals["fixed_url"] = fixed_url
    app.register_blueprint(bp)
    app.register_blueprint(health.bp)
    logging.init_app(app)
    app.context_processor(template_globals)
    errors.init_app(app)
    headers.init_app(app)
    http_cache.init_app(app)
    sessions.init_app(app)
