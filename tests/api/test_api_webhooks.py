"""Webhooks: committed with the change, sent signed by the worker to a real receiver, retried
with backoff, logged for the admin, and never sent to loopback or private addresses."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from courses import create_app
from courses.api import webhooks
from courses.api.delivery import BACKOFF, deliver_due_webhooks
from courses.api.models import Webhook, WebhookDelivery
from courses.certificates.services import current_certificate, revoke_certificate
from courses.extensions import db
from courses.ops.privacy import erase_enrollment
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from courses.worker.loop import Worker
from courses.worker.steps import steps
from tests.api.webhook_receiver import receiver
from tests.factories import OPEN_NOW, login, make_coordinator, make_course, post, submit

SECRET = "s3cret-shared-with-the-partner"


def _deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _register_hook(url: str, events=webhooks.EVENTS) -> int:
    hook = webhooks.register_webhook(url, SECRET, list(events), created_by=None, now=OPEN_NOW)
    db.session.commit()
    return hook.id


def _verify(received, secret: str = SECRET) -> dict:
    """What a partner's receiver does: check the signature over "<timestamp>.<body>"."""
    timestamp = received.headers["X-Webhook-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(received.headers["X-Webhook-Signature"], f"v1={expected}")
    return json.loads(received.body)


@pytest.fixture
def edition(app) -> int:
    """The reference edition, committed; its id."""
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        edition = make_course()
        db.session.commit()
        return edition.id


def test_a_registration_is_delivered_signed_to_the_partner(app, client, edition):
    with receiver() as partner:
        with app.app_context():
            _register_hook(partner.url)
        assert submit(client).status_code == 303
        with app.app_context():
            # The delivery row was committed with the registration, before anything was sent.
            (delivery,) = _deliveries()
            assert delivery.event == "registration.created" and delivery.delivered_at is None
            assert partner.requests == []

            assert deliver_due_webhooks(OPEN_NOW) == {"delivered": 1, "failed": 0, "given_up": 0}
            (received,) = partner.requests
            assert received.path == "/hooks/courses"
            assert received.headers["Content-Type"].startswith("application/json")
            assert received.headers["X-Webhook-Event"] == "registration.created"
            assert received.headers["X-Webhook-Timestamp"] == str(int(OPEN_NOW.timestamp()))
            event = _verify(received)
            assert event["id"] == received.headers["X-Webhook-Id"] == delivery.event_id
            assert event["type"] == "registration.created"
            person = event["data"]["enrollment"]
            assert person["email"] == "maria@example.org"
            assert person["phone"] == "+56961234567"
            assert person["course"] == "pesca-acuicultura" and person["edition"] == "2023"
            # A tampered body or another secret does not verify.
            received.body = received.body.replace(b"maria", b"mario")
            with pytest.raises(AssertionError):
                _verify(received)
            (delivery,) = _deliveries()
            assert delivery.delivered_at == OPEN_NOW and delivery.attempts == 1
            # Nothing is sent twice.
            assert deliver_due_webhooks(OPEN_NOW + timedelta(hours=1))["delivered"] == 0
            assert len(partner.requests) == 1


def test_a_failing_receiver_gets_the_same_event_again_after_the_backoff(app, client, edition):
    with receiver(fail_first=2) as partner:
        with app.app_context():
            _register_hook(partner.url)
        submit(client)
        with app.app_context():
            assert deliver_due_webhooks(OPEN_NOW)["failed"] == 1
            (delivery,) = _deliveries()
            assert delivery.attempts == 1 and delivery.last_status == 500
            assert delivery.next_attempt_at == OPEN_NOW + BACKOFF[0]
            # Not before its time.
            assert deliver_due_webhooks(OPEN_NOW + BACKOFF[0] - timedelta(seconds=1)) == {
                "delivered": 0, "failed": 0, "given_up": 0,
            }  # fmt: skip
            second = OPEN_NOW + BACKOFF[0]
            assert deliver_due_webhooks(second)["failed"] == 1
            assert _deliveries()[0].next_attempt_at == second + BACKOFF[1]
            third = second + BACKOFF[1]
            assert deliver_due_webhooks(third)["delivered"] == 1
            assert len(partner.requests) == 3
            ids = {r.headers["X-Webhook-Id"] for r in partner.requests}
            assert len(ids) == 1  # the receiver can drop repeats
            # Each attempt is signed anew with its own timestamp.
            stamps = [r.headers["X-Webhook-Timestamp"] for r in partner.requests]
            assert stamps == [str(int(t.timestamp())) for t in (OPEN_NOW, second, third)]
            for received in partner.requests:
                _verify(received)


def test_completion_and_certificate_events_come_from_the_services(app, client, edition):
    with receiver() as partner:
        with app.app_context():
            _register_hook(partner.url, ["enrollment.completed", "certificate.issued",
                                         "certificate.revoked"])  # fmt: skip
        submit(client)
        with app.app_context():
            assert _deliveries() == []  # not subscribed to registrations
            enrollment = db.session.scalar(select(Enrollment))
            for module in enrollment.edition.course.modules:
                mark_module(enrollment, module, source="self", now=OPEN_NOW)
            db.session.commit()
            assert [d.event for d in _deliveries()] == [
                "enrollment.completed",
                "certificate.issued",
            ]
            revoke_certificate(current_certificate(enrollment), "error", OPEN_NOW)
            revoke_certificate(current_certificate(enrollment), "twice", OPEN_NOW)  # idempotent
            db.session.commit()
            deliver_due_webhooks(OPEN_NOW)
            events = [_verify(r) for r in partner.requests]
            assert [e["type"] for e in events] == [
                "enrollment.completed", "certificate.issued", "certificate.revoked",
            ]  # fmt: skip
            assert events[1]["data"]["certificate"]["state"] == "valid"
            assert events[2]["data"]["certificate"]["state"] == "revoked"


def test_no_event_without_the_change_it_reports(app, edition):
    with app.app_context():
        _register_hook("https://partner.example.org/hook")
        enrollment_count = db.session.scalar(select(func.count()).select_from(Enrollment))
    submit_client = app.test_client()
    submit(submit_client, email="not-an-address")  # refused: nothing stored
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == enrollment_count
        assert _deliveries() == []


def test_loopback_and_private_addresses_are_refused(app, client, edition):
    with app.app_context():  # the rules read the application's configuration
        for text in ("127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254",
                     "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1",
                     "224.0.0.1"):  # fmt: skip
            allowed = webhooks.address_allowed(ipaddress.ip_address(text))
            # Loopback only in the testing config (its receiver runs on 127.0.0.1).
            assert allowed is (text in ("127.0.0.1", "::1")), text
        assert webhooks.address_allowed(ipaddress.ip_address("203.0.113.7")) is False  # docs net
        assert webhooks.address_allowed(ipaddress.ip_address("8.8.8.8")) is True
        for url in ("http://10.0.0.1/x", "https://[fd00::1]/x", "https://169.254.169.254/latest",
                    "ftp://example.org/", "https://user:pw@example.org/"):  # fmt: skip
            with pytest.raises(webhooks.WebhookError):
                webhooks.check_url(url)


def test_the_resolved_address_is_checked_when_sending(database_url):
    """Outside the testing config loopback is refused at delivery, even behind a name."""
    app = create_app(
        "testing",
        {"SQLALCHEMY_DATABASE_URI": database_url, "WEBHOOK_ALLOW_LOOPBACK": False},
    )
    with receiver() as partner, app.app_context():
        db.create_all()
        try:
            edition = make_course()
            # A name (accepted when registered) that resolves to 127.0.0.1 when sent.
            url = partner.url.replace("127.0.0.1", "localhost")
            hook = Webhook(url=url, secret=SECRET, events=list(webhooks.EVENTS))
            db.session.add(hook)
            db.session.flush()
            enrollment = Enrollment(
                edition_id=edition.id, name="Ana", email="ana@example.org",
                email_key="ana@example.org", phone="+56912345678", country="CL",
                organization="X", token_salt="s", token_hash="h" * 64, consent_at=OPEN_NOW,
                privacy_version="2023-06", created_at=OPEN_NOW,
            )  # fmt: skip
            db.session.add(enrollment)
            db.session.flush()
            webhooks.emit("registration.created", enrollment, OPEN_NOW)
            db.session.commit()
            assert deliver_due_webhooks(OPEN_NOW)["failed"] == 1
            assert partner.requests == []
            (delivery,) = _deliveries()
            assert "non-public address" in delivery.last_error
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_production_takes_only_https(database_url, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        with pytest.raises(webhooks.WebhookError):
            webhooks.check_url("http://partner.example.org/hook")
        assert webhooks.check_url("https://partner.example.org/hook")
        assert not webhooks.address_allowed(ipaddress.ip_address("127.0.0.1"))


def test_admin_registers_reads_the_log_and_sends_again(app, client, edition):
    with receiver() as partner:
        with app.app_context():
            admin_email = make_coordinator("admin").email
            db.session.commit()
        login(client, admin_email)
        page = "/coordinator/api/webhooks"
        assert 'href="/coordinator/api/webhooks"' in client.get("/coordinator/").text
        fields = {"secret": SECRET, "events": ["registration.created"]}
        refused = post(client, page, {"url": "https://10.0.0.8/x", **fields}, form_url=page)
        assert refused.status_code == 400
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Webhook)) == 0
        made = post(client, page, {"url": partner.url, **fields}, form_url=page)
        assert made.status_code == 303
        hook_page = made.headers["Location"]
        assert SECRET not in client.get(hook_page).text

        submit(client)  # someone registers (the same browser: one CSRF session in this test)
        with app.app_context():
            deliver_due_webhooks(OPEN_NOW)
        log = client.get(hook_page).text
        assert "registration.created" in log and "entregado" in log
        with app.app_context():
            (delivery,) = _deliveries()
        again = re.search(r'action="([^"]+/deliveries/\d+/again)"', log).group(1)
        assert post(client, again, form_url=hook_page).status_code == 303
        with app.app_context():
            deliver_due_webhooks(OPEN_NOW + timedelta(minutes=1))
            assert len(partner.requests) == 2
            first, second = (_verify(r) for r in partner.requests)
            assert first == second  # the same event, the same id
            assert len(_deliveries()) == 2


def test_webhook_pages_are_for_admins_only(app, client, edition):
    with app.app_context():
        focal_email = make_coordinator("country", country="PE").email
        db.session.commit()
    login(client, focal_email)
    assert client.get("/coordinator/api/webhooks").status_code == 404
    assert 'href="/coordinator/api/webhooks"' not in client.get("/coordinator/").text


def test_erasing_a_person_erases_their_deliveries(app, client, edition):
    with app.app_context():
        _register_hook("https://partner.example.org/hook")
    submit(client)
    with app.app_context():
        assert len(_deliveries()) == 1
        erase_enrollment(db.session.scalar(select(Enrollment)), OPEN_NOW)
        db.session.commit()
        assert _deliveries() == []


def test_the_command_sends_what_is_due(app, client, edition, runner):
    with receiver() as partner:
        with app.app_context():
            _register_hook(partner.url)
        submit(client)
        result = runner.invoke(args=["api", "webhooks-send"])
        assert result.exit_code == 0, result.output
        assert "1 delivered" in result.output
        assert len(partner.requests) == 1


def test_the_delivery_worker_sends_webhooks_as_one_of_its_steps(shared_app):
    # The step sends from a thread of its own, which needs a connection of its own: a SQLite
    # file or PostgreSQL (the in-memory database is one connection for every thread).
    app = shared_app
    with app.app_context():
        make_course()
        db.session.commit()
    client = app.test_client()
    with receiver() as partner:
        with app.app_context():
            _register_hook(partner.url)
        submit(client)
        worker = Worker(app, steps(), idle_seconds=0.1)
        worker.turn()  # in application contexts of its own, as in the worker process
        worker.close()  # what the turn asked of the step's sender thread is done
        assert len(partner.requests) == 1
        _verify(partner.requests[0])
        with app.app_context():
            assert _deliveries()[0].delivered_at is not None
