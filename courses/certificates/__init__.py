"""Certificates feature."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this feature's blueprints and commands."""
    from courses.certificates import models  # noqa: F401 - tables known to the metadata
    from courses.certificates.cli import certificates_cli
    from courses.certificates.credential_views import bp as credentials_bp
    from courses.certificates.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(credentials_bp)
    app.cli.add_command(certificates_cli)
