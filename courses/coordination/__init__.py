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

    _lazy_current_user_in_templates(app)
    app.register_blueprint(bp)
    app.cli.add_command(coordinators_cli)
    app.cli.add_command(enrollments_cli)


def _lazy_current_user_in_templates(app: Flask) -> None:
    """Give templates `current_user` without loading it for every page.

    Flask-Login's own context processor loads the user whenever any template renders, and with
    "strong" session protection that makes every participant page that has a session (the
    registration form's CSRF token) send a cookie-clearing header. The proxy loads the user
    only on the coordinator pages that use it.
    """
    from flask_login import current_user
    from flask_login.utils import _user_context_processor

    processors = app.template_context_processors[None]
    if _user_context_processor in processors:
        processors.remove(_user_context_processor)
    app.context_processor(lambda: {"current_user": current_user})
