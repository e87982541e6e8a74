"""Coordination: the back office where coordinators follow and manage their editions.

`blueprint.py` holds the blueprint and what its pages share; each `*_views.py` module is one
subject and adds its own routes; the other modules are services the views call.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the coordinator blueprint with every view module's routes, login and commands."""
    # Imported here, not at the top: importing the models (as the CLI and tests do) need not
    # load every page.
    from courses.coordination import (
        account_views,
        audit_views,
        auth_views,
        certificate_views,
        course_views,
        dashboard_views,
        edition_views,
        enrollee_views,
        enrollment_views,
        import_views,
        listing,
        merge_views,
        models,  # noqa: F401 - the tables must be known before create_all and migrations
        sessions,  # noqa: F401 - likewise
    )
    from courses.coordination.blueprint import create_blueprint
    from courses.coordination.cli import coordinators_cli, enrollments_cli
    from courses.digest import views as digest_views
    from courses.extensions import db
    from courses.mail import admin_views as mail_views

    with app.app_context():
        for engine in db.engines.values():
            listing.install(engine)
    auth_views.setup_login(app)
    bp = create_blueprint()
    for views in (
        auth_views,
        account_views,
        audit_views,
        dashboard_views,
        enrollment_views,
        enrollee_views,
        merge_views,
        edition_views,
        import_views,
        certificate_views,
        course_views,
        digest_views,
        mail_views,
    ):
        views.register(bp)
    app.register_blueprint(bp)
    app.cli.add_command(coordinators_cli)
    app.cli.add_command(enrollments_cli)
