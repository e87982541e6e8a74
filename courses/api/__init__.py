"""API for partner systems: tokens, the read-only `/api/v1/…`, its OpenAPI description and
webhooks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API, the coordinator's API page and the `api` commands."""
    # Importing webhook_pages adds its routes to the pages blueprint.
    from courses.api import models, webhook_pages  # noqa: F401 - tables known to the metadata
    from courses.api.cli import api_cli
    from courses.api.pages import bp as pages_bp
    from courses.api.views import bp
    from courses.extensions import csrf

    # Bearer tokens, no cookies: nothing a forged cross-site request could ride on.
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(pages_bp)
    app.cli.add_command(api_cli)
