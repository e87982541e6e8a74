"""The coordinator's API page: create, list and revoke their own tokens.

A new token is shown in the answer to the POST that created it, once, with `no-store`; it is
never put in the session, a flash message or a URL.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from courses import clock
from courses.api import tokens
from courses.api.forms import TokenForm
from courses.api.models import ApiToken
from courses.coordination.blueprint import me, never_stored, require_login
from courses.coordination.services import record
from courses.extensions import db
from courses.forms import ActionForm

bp = Blueprint("api_pages", __name__, url_prefix="/coordinator/api")


bp.before_request(require_login)
bp.after_request(never_stored)  # a coordinator page: private, no-store, like the others


def _expiry(form: TokenForm) -> datetime | None:
    day = form.expires.data
    # The whole last day counts (in UTC): the token stops at the midnight that ends it.
    return datetime.combine(day, time.max, tzinfo=UTC) if day else None


@bp.route("/tokens", methods=["GET", "POST"])
def tokens_page():
    coordinator = me()
    now = clock.now()
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        try:
            row, token = tokens.create_token(
                coordinator, form.name.data, expires_at=_expiry(form), now=now
            )
        except tokens.TokenError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            record(coordinator, "api.token.create", f"api_token:{row.id}", name=row.name)
            db.session.commit()
            created = {"name": row.name, "token": token}
            form = TokenForm(formdata=None)
    status = 400 if form.errors else 200
    return render_template(
        "api/tokens.html",
        form=form,
        created=created,
        rows=[(row, token_state(row, now)) for row in tokens.tokens_of(coordinator)],
        action_form=ActionForm(),
    ), status


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    coordinator = me()
    row = db.session.get(ApiToken, token_id)
    # Only one's own tokens; anybody else's does not exist for this page.
    if row is None or row.coordinator_id != coordinator.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if tokens.revoke_token(row, clock.now()):
        record(coordinator, "api.token.revoke", f"api_token:{row.id}", name=row.name)
        db.session.commit()
        flash(_("El token «%(name)s» fue revocado.", name=row.name), "success")
    return redirect(url_for("api_pages.tokens_page"), code=303)


def token_state(row: ApiToken, now: datetime) -> str:
    """ "active", "expired" or "revoked", as the list shows it."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"
