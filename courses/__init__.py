"""The registration and certificate application of the Pacific Alliance training cycles."""

from __future__ import annotations

from collections.abc import Callable
from inspect import CO_COROUTINE
from pathlib import Path
from types import FunctionType
from typing import Any

from flask import Flask

from config import build_config
from courses.templating import Environment

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


class Application(Flask):
    """Flask, with the check that a function is not `async def` cheap for plain functions, and
    templates whose imports cost one step (`templating.Environment`)."""

    jinja_environment = Environment

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # Flask asks inspect.iscoroutinefunction of every hook, context processor and view on
        # every request: fifteen times a page, seven calls each. For a plain function its answer
        # is the code's flag (or, from Python 3.12, inspect's marker in the function's
        # __dict__), read here in one step; anything else (a method, a partial) as Flask does.
        if (
            type(func) is FunctionType
            and not func.__code__.co_flags & CO_COROUTINE
            and "_is_coroutine_marker" not in func.__dict__
        ):
            return func
        return super().ensure_sync(func)


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application for `config_name` (default: COURSES_CONFIG, else development)."""
    app = Application(
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


#: HTTP methods whose requests only read; a view of them that writes says so (`database.writes`).
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def register_extensions(app: Flask) -> None:
    from courses.extensions import babel, csrf, db, limiter, login_manager, mail, migrate
    from courses.i18n import select_locale

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    register_database(app)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    mail.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    limiter.init_app(app)


def register_database(app: Flask) -> None:
    """The SQLite settings on this application's own engine, and each request's write intent.

    A request that is not a GET, HEAD or OPTIONS writes; one of those only reads, unless its
    view carries `database.writes`. Declared first thing (before every other hook), so that the
    request's first transaction already begins the right way on SQLite; `database.writing()`
    and `write_apart()` still declare a write inside a reading request.
    """
    from flask import g, request

    from courses import database
    from courses.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            database.install(engine)

    def declare_intent() -> None:
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        writes = request.method not in READ_ONLY_METHODS or database.declared_writer(view)
        g.database_intent = database.declare(writes)

    def end_intent(error: BaseException | None) -> None:
        token = g.pop("database_intent", None)
        if token is not None:
            database.undeclare(token)

    app.before_request_funcs.setdefault(None, []).insert(0, declare_intent)
    app.teardown_request(end_intent)


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
