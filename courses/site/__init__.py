"""What every page shares: language switch, privacy notice, error pages, response headers."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from courses.site import errors, headers, health, logging
    from courses.site.views import bp, template_globals

    app.register_blueprint(bp)
    app.register_blueprint(health.bp)
    logging.init_app(app)
    app.context_processor(template_globals)
    errors.init_app(app)
    headers.init_app(app)
