"""Serving in production: headers, cookies, request ids, /healthz, error pages, gunicorn."""

from __future__ import annotations

import logging
import os
import runpy
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from courses import create_app
from courses.database import utcnow
from courses.extensions import db
from courses.mail.models import OutboxMessage
from tests.production.prodkit import ROOT, Browser, free_port


def test_every_page_carries_the_security_headers(client):
    response = client.get("/privacy")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")
    # Plain http (the testing base URL): no HSTS, which would lock a pilot out of http.
    assert "Strict-Transport-Security" not in response.headers
    assert client.get("/no-such-page").headers["X-Content-Type-Options"] == "nosniff"


def test_https_base_url_turns_on_hsts_and_secure_cookies(database_url):
    app = create_app(
        "testing",
        {"SQLALCHEMY_DATABASE_URI": database_url, "PUBLIC_BASE_URL": "https://cursos.example"},
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    client = app.test_client()
    response = client.get("/language/en?next=/privacy")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The session cookie (CSRF token of a form) too.
    with app.app_context():
        db.create_all()
    form = client.get("/coordinator/login")  # stores nothing
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    assert form.status_code == 200
    session_cookie = next(c for c in form.headers.getlist("Set-Cookie") if "session=" in c)
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie


def test_request_id_is_taken_from_the_proxy_or_made_and_reaches_the_log(app, client, caplog):
    @app.get("/test-logs-something")
    def logs_something():
        logging.getLogger("courses.test").warning("something worth a look")
        return "ok"

    given = client.get("/privacy", headers={"X-Request-ID": "edge-42.abc"})
    assert given.headers["X-Request-ID"] == "edge-42.abc"
    made = client.get("/privacy", headers={"X-Request-ID": "bad id with spaces; and <html>"})
    assert made.headers["X-Request-ID"] != "edge-42.abc"
    assert len(made.headers["X-Request-ID"]) == 32 and " " not in made.headers["X-Request-ID"]

    with caplog.at_level(logging.WARNING, logger="courses"):
        client.get("/test-logs-something", headers={"X-Request-ID": "trace-me"})
    record = next(r for r in caplog.records if r.getMessage() == "something worth a look")
    assert record.request_id == "trace-me"


def test_an_unexpected_error_is_a_plain_500_page_that_leaks_nothing(app, client, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test-explodes")
    def explodes():
        raise RuntimeError("password=hunter2 at postgresql://admin:s3cret@db.internal/courses")

    with caplog.at_level(logging.ERROR, logger="courses"):
        response = client.get("/test-explodes")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    for secret in ("hunter2", "s3cret", "db.internal", "Traceback", "RuntimeError", ".py"):
        assert secret not in page
    assert "Algo salió mal" in page
    assert response.headers["X-Request-ID"]
    # The details go to the log (with the request id), not to the visitor.
    assert any("hunter2" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_healthz_reports_the_database_and_the_outbox_backlog(app, client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {
        "status": "ok",
        "database": "ok",
        "outbox": {"backlog": 0, "oldest_unsent_age_seconds": None},
    }
    assert answer.headers["Cache-Control"] == "no-store"
    with app.app_context():
        two_hours_ago = utcnow() - timedelta(hours=2)
        for number, sent in ((1, None), (2, None), (3, utcnow())):
            db.session.add(
                OutboxMessage(
                    message_id=f"<health-{number}@test>",
                    kind="test",
                    recipient="a@example.org",
                    subject="s",
                    body_text="b",
                    created_at=two_hours_ago,
                    next_attempt_at=two_hours_ago,
                    sent_at=sent,
                )
            )
        db.session.commit()
    answer = client.get("/healthz")
    assert answer.status_code == 200  # the web side works; mail trouble is "degraded"
    assert answer.json["status"] == "degraded"
    assert answer.json["outbox"]["backlog"] == 2
    assert 7100 <= answer.json["outbox"]["oldest_unsent_age_seconds"] <= 7300


def test_healthz_degrades_only_when_due_mail_waits_more_than_a_few_minutes(app, client):
    moment = utcnow()
    with app.app_context():
        # Due a minute ago (the worker is at it), and due in an hour (waiting for a retry): fine.
        for number, due in ((1, moment - timedelta(minutes=1)), (2, moment + timedelta(hours=1))):
            db.session.add(
                OutboxMessage(
                    message_id=f"<due-{number}@test>",
                    kind="test",
                    recipient="a@example.org",
                    subject="s",
                    body_text="b",
                    created_at=moment - timedelta(hours=3),
                    next_attempt_at=due,
                )
            )
        db.session.commit()
    assert client.get("/healthz").json["status"] == "ok"
    with app.app_context():
        # Due ten minutes ago and nobody has sent it: no worker, or a mail server refusing us.
        message = db.session.scalar(db.select(OutboxMessage).filter_by(message_id="<due-1@test>"))
        message.next_attempt_at = moment - timedelta(minutes=10)
        db.session.commit()
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json["status"] == "degraded"


def test_healthz_is_503_when_the_database_is_unreachable():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.json == {"status": "unavailable", "database": "unreachable"}
    # A page needing the database says so in words, with no details.
    page = app.test_client().get("/")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "Servicio no disponible" in text
    assert "psycopg" not in text and "nothing" not in text and "Connection refused" not in text
    with app.app_context():
        db.engine.dispose()


def test_gunicorn_settings_come_from_the_environment(monkeypatch):
    for name in ("GUNICORN_WORKERS", "WEB_CONCURRENCY", "GUNICORN_BIND", "PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] == 2 and settings["worker_class"] == "sync"
    assert settings["bind"] == "127.0.0.1:8000"
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("PORT", "8123")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] == 3 and settings["bind"] == "127.0.0.1:8123"
    monkeypatch.setenv("GUNICORN_WORKERS", "5")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"] == 5
    monkeypatch.setenv("GUNICORN_WORKERS", "many")
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS"):
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_make_serve_refuses_to_start_without_a_secret_key():
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.runtime", "-o", "translations", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr and "export SECRET_KEY=" in done.stderr


@pytest.mark.slow
def test_make_serve_migrates_and_serves_in_production_configuration(tmp_path):
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "SECRET_KEY": "make-serve-test-secret-0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
        "PORT": str(port),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(free_port()),
    }
    log = (tmp_path / "serve.log").open("wb")
    served = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.runtime", "-o", "translations", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and served.poll() is None:
            try:
                answer = browser.get("/healthz")
                break
            except OSError:
                time.sleep(0.2)
        assert answer is not None, (tmp_path / "serve.log").read_text()
        status, headers, body = answer
        assert status == 200 and '"database":"ok"' in body.replace(" ", "")
        # Production: no development mailbox, no debug pages.
        assert browser.get("/dev/mailbox")[0] == 404
    finally:
        os.killpg(served.pid, signal.SIGINT)
        served.wait(timeout=30)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "db upgrade" in output and "gunicorn -c gunicorn.conf.py wsgi:app" in output
    assert "Booting worker" in output


def test_healthz_details_only_for_the_host_itself_or_with_the_token(app):
    """The outbox backlog was shown to anyone; up/down stays public for load balancers."""
    app.config["HEALTHZ_TOKEN"] = "t0ken-for-monitoring"  # read on each request
    outside = app.test_client()
    outside.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    answer = outside.get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "database": "ok"}
    wrong = outside.get("/healthz", headers={"Authorization": "Bearer nope"})
    assert "outbox" not in wrong.json
    right = outside.get("/healthz", headers={"Authorization": "Bearer t0ken-for-monitoring"})
    assert right.json["outbox"] == {"backlog": 0, "oldest_unsent_age_seconds": None}
    # Loopback, but forwarded by a proxy on the host: a visitor from elsewhere.
    proxied = app.test_client().get("/healthz", headers={"X-Forwarded-For": "198.51.100.1"})
    assert "outbox" not in proxied.json
    assert "outbox" in app.test_client().get("/healthz").json  # the host itself
