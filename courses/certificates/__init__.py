"""Certificates feature."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this feature's blueprint and commands."""
    from courses.certificates import models  # noqa: F401 - tables known to the metadata
    from courses.certificates.views import bp

    app.register_blueprint(bp)
