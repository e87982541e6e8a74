"""The registration and certificate application of the Pacific Alliance training cycles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from config import build_config

ROOT = Path(__file__).resolve().parent.parent

#: Feature packages, in the order their blueprints are registered.
FEATURES = (
    "site",
    "catalog",
    "registration",
    "participants",
    "certificates",
    "coordination",
    "mail",
    "reminders",
    "digest",
    "api",
)


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application for `config_name` (default: COURSES_CONFIG, else development)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
    )
    app.config.from_mapping(build_config(config_name, overrides))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        str(Path(app.root_path) / feature / "translations") for feature in FEATURES
    )
    register_extensions(app)
    register_features(app)
    return app


def register_extensions(app: Flask) -> None:
    from courses import database  # noqa: F401 - installs the SQLite connection settings
    from courses.extensions import babel, csrf, db, limiter, login_manager, mail, migrate
    from courses.i18n import select_locale

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    mail.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    limiter.init_app(app)


def register_features(app: Flask) -> None:
    from courses import (
        api,
        catalog,
        certificates,
        coordination,
        digest,
        mail,
        ops,
        participants,
        registration,
        reminders,
        site,
        worker,
    )

    site.init_app(app)
    catalog.init_app(app)
    registration.init_app(app)
    participants.init_app(app)
    certificates.init_app(app)
    coordination.init_app(app)
    mail.init_app(app)
    reminders.init_app(app)
    digest.init_app(app)
    ops.init_app(app)
    worker.init_app(app)
    api.init_app(app)
