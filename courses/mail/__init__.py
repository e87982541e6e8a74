"""Mail feature."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this feature's blueprint and commands."""
    from courses.mail import models  # noqa: F401 - tables known to the metadata
    from courses.mail.views import bp

    app.register_blueprint(bp)
