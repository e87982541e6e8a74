"""Admins' webhook pages: register a URL and secret for events, read the delivery log, send a
delivery again, switch a webhook off."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from courses import clock
from courses.api import webhooks
from courses.api.forms import WebhookForm
from courses.api.models import Webhook, WebhookDelivery
from courses.api.pages import bp
from courses.coordination.blueprint import me, require_admin
from courses.coordination.models import Coordinator
from courses.coordination.services import record
from courses.extensions import db
from courses.forms import ActionForm

#: Deliveries shown in a webhook's log, newest first.
LOG_SIZE = 100


def _admin() -> Coordinator:
    require_admin()
    return me()


def _webhook(webhook_id: int) -> Webhook:
    hook = db.session.get(Webhook, webhook_id)
    if hook is None:
        abort(404)
    return hook


@bp.route("/webhooks", methods=["GET", "POST"])
def webhooks_page():
    admin = _admin()
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            hook = webhooks.register_webhook(
                form.url.data, form.secret.data, form.events.data, created_by=admin.id,
                now=clock.now(),
            )  # fmt: skip
        except webhooks.WebhookError as error:
            db.session.rollback()
            form.url.errors.append(str(error))
        else:
            record(admin, "webhook.create", f"webhook:{hook.id}", url=hook.url, events=hook.events)
            db.session.commit()
            flash(_("Webhook registrado."), "success")
            return redirect(url_for("api_pages.webhook_page", webhook_id=hook.id), code=303)
    hooks = db.session.scalars(select(Webhook).order_by(Webhook.id)).all()
    return render_template(
        "api/webhooks.html", form=form, hooks=hooks, action_form=ActionForm()
    ), 400 if form.errors else 200


@bp.get("/webhooks/<int:webhook_id>")
def webhook_page(webhook_id: int):
    _admin()
    hook = _webhook(webhook_id)
    deliveries = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(LOG_SIZE)
    ).all()
    rows = [(delivery, _state(delivery)) for delivery in deliveries]
    return render_template("api/webhook.html", hook=hook, rows=rows, action_form=ActionForm())


def _state(delivery: WebhookDelivery) -> str:
    if delivery.delivered_at is not None:
        return "delivered"
    if delivery.failed_at is not None:
        return "given_up"
    return "retrying" if delivery.attempts else "pending"


@bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/again")
def send_again(webhook_id: int, delivery_id: int):
    admin = _admin()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != webhook_id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    copy = webhooks.send_again(delivery, clock.now())
    record(admin, "webhook.send_again", f"webhook:{webhook_id}", delivery=delivery.id, new=copy.id)
    db.session.commit()
    flash(_("Se enviará de nuevo en unos segundos."), "success")
    return redirect(url_for("api_pages.webhook_page", webhook_id=webhook_id), code=303)


@bp.post("/webhooks/<int:webhook_id>/active")
def toggle(webhook_id: int):
    admin = _admin()
    hook = _webhook(webhook_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    hook.active = not hook.active
    record(admin, "webhook.active", f"webhook:{hook.id}", after=hook.active)
    db.session.commit()
    return redirect(url_for("api_pages.webhook_page", webhook_id=hook.id), code=303)
