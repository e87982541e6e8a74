"""Coordination feature: coordinator accounts, enrollee lists and exports, imports, dashboard,
certificates management and the audit log."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext


def init_app(app: Flask) -> None:
    """Register this feature's blueprint, login handling and commands."""
    # Importing the models makes their tables known; the view modules add their routes to bp.
    from courses.coordination import certificate_views, edition_views, models  # noqa: F401
    from courses.coordination.cli import coordinators_cli, enrollments_cli
    from courses.coordination.views import bp
    from courses.extensions import login_manager

    login_manager.login_view = "coordination.login"
    login_manager.login_message = "Inicia sesión para continuar."
    login_manager.login_message_category = "warning"
    login_manager.localize_callback = gettext
    # A session cookie used from another browser or address is dropped, not trusted.
    login_manager.session_protection = "strong"

    app.register_blueprint(bp)
    app.cli.add_command(coordinators_cli)
    app.cli.add_command(enrollments_cli)
