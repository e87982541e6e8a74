"""Catalog feature."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this feature's blueprint and commands."""
    from courses.catalog import models  # noqa: F401 - tables known to the metadata
    from courses.catalog.cli import courses_cli
    from courses.catalog.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(courses_cli)
