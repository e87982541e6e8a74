"""Logging in and out, and changing one's own password.

Kept apart from the other coordinator pages so the session and login rules live in one place.
"""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from courses import clock, limits
from courses.coordination import services, sessions
from courses.coordination.blueprint import me
from courses.coordination.forms import LoginForm, PasswordForm
from courses.coordination.models import Coordinator
from courses.extensions import db, limiter, login_manager
from courses.forms import ActionForm
from courses.site.redirects import safe_next


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", view_func=logout, methods=["POST"])
    bp.add_url_rule("/password", view_func=password, methods=["GET", "POST"])


def setup_login(app: Flask) -> None:
    """Flask-Login for coordinators: where to send a visitor, how sessions are checked."""
    login_manager.login_view = "coordination.login"
    login_manager.login_message = "Inicia sesión para continuar."
    login_manager.login_message_category = "warning"
    login_manager.localize_callback = gettext
    # A session cookie used from another browser or address is dropped, not trusted.
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_coordinator)
    _lazy_current_user_in_templates(app)


def load_coordinator(user_id: str) -> Coordinator | None:
    """The coordinator of the live server-side session `user_id` (see sessions.py), or None."""
    return sessions.load(user_id, clock.now())


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


@limiter.limit(limits.LOGIN_PER_CLIENT, methods=["POST"], deduct_when=limits.failed_login)
@limiter.limit(
    limits.LOGIN_PER_ACCOUNT,
    key_func=limits.login_account_key,
    methods=["POST"],
    deduct_when=limits.failed_login,
)
def login():
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        coordinator = services.authenticate(form.email.data, form.password.data)
        now = clock.now()
        if coordinator is not None:
            # A fresh session: nothing from before the login (a planted cookie) survives it.
            session.clear()
            sessions.start(coordinator, now)
            login_user(coordinator)
            coordinator.last_login_at = now
            services.record(coordinator, "login")
            db.session.commit()
            back = safe_next(
                request.args.get("next"), url_for("coordination.index"), within="/coordinator/"
            )
            return redirect(back, code=303)
        failed = True
        services.record(form.email.data.strip().lower(), "login.failed")
        db.session.commit()
    status = 401 if failed else (400 if form.errors else 200)
    return render_template("coordination/login.html", form=form, failed=failed), status


def logout():
    form = ActionForm()
    if form.validate_on_submit():
        services.record(me(), "logout")
        sessions.end(me().session_token)  # a copy of the cookie stops working too
        db.session.commit()
        logout_user()
        session.clear()
    return redirect(url_for("coordination.login"), code=303)


def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(me(), form.current.data, form.new.data)
        except services.CoordinatorError as error:
            form.current.errors.append(str(error))
        else:
            coordinator = me()
            services.record(coordinator, "password.change")
            # Every session ends (a stolen cookie among them); this browser gets a new one.
            sessions.end_all(coordinator)
            sessions.start(coordinator, clock.now())
            db.session.commit()
            login_user(coordinator)
            flash(_("Tu contraseña fue cambiada."), "success")
            return redirect(url_for("coordination.index"), code=303)
    status = 400 if form.errors else 200
    return render_template("coordination/password.html", form=form), status
