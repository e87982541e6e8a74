"""No secrets in the logs: whoever reads them cannot open a personal page or see a search.

A real gunicorn server in production configuration; a person registers, opens their personal
pages, a coordinator searches; then the server's log (gunicorn access and error lines and the
app's own lines) is read back.
"""

from __future__ import annotations

import logging
import subprocess
import time

import pytest

from courses import create_app
from courses.registration import tokens
from courses.site.logging import mask_secrets
from tests.production.prodkit import (
    BIN,
    ROOT,
    SECRET,
    Browser,
    engine_for,
    form_path,
    prepare,
    registration_fields,
    rows,
    server_database,
    server_environment,
    servers,
)

pytestmark = pytest.mark.slow

PASSWORD = "una clave larga de prueba 2099"


def _token(url: str, email: str) -> str:
    engine = engine_for(url)
    try:
        ((salt,),) = rows(engine, "SELECT token_salt FROM enrollment WHERE email_key = :e", e=email)
    finally:
        engine.dispose()
    app = create_app("testing", {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        return tokens.token_for(salt)


def _create_admin(url: str, email: str) -> None:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "coordinators", "create", email, "--role", "admin"],
        cwd=ROOT,
        env=server_environment(url),
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_personal_tokens_and_search_terms_never_reach_the_log(tmp_path):
    with server_database(tmp_path) as url:
        prepare(url, tmp_path)
        _create_admin(url, "admin@example.org")
        with servers(url, tmp_path, count=1) as (server,):
            visitor = Browser(server.base)
            form = form_path("b")
            token = visitor.csrf_from(form)
            fields = registration_fields(3, token, "pedro.secreto@example.org")
            assert visitor.post(form, fields)[0] == 303
            personal = _token(url, "pedro.secreto@example.org")

            reader = Browser(server.base)
            for path in (
                f"/my/{personal}",
                f"/my/{personal}/modules/1",
                f"/my/{personal}/certificate.pdf",  # not earned yet: 404
                f"/my/{personal}/no-such-page",
                f"/my/{personal}%00/modules/1",  # a value the database refuses, on PostgreSQL
                f"/language/en?next=/my/{personal}/modules/1",
            ):
                status, _, _ = reader.get(path)
                assert status < 500, path
            csrf = reader.csrf_from(f"/my/{personal}/modules/1")
            assert reader.post(f"/my/{personal}/modules/1/complete", {"csrf_token": csrf})[0] == 303

            coordinator = Browser(server.base)
            csrf = coordinator.csrf_from("/coordinator/login")
            login = {"csrf_token": csrf, "email": "admin@example.org", "password": PASSWORD}
            assert coordinator.post("/coordinator/login", login)[0] == 303
            search = "/coordinator/prueba-carga/b/enrollments?q=pedro.secreto&country=CL"
            assert coordinator.get(search)[0] == 200
            assert coordinator.get("/coordinator/prueba-carga/b/enrollments.csv?q=pedro")[0] == 200

            deadline = time.monotonic() + 10
            while "enrollments.csv" not in server.log() and time.monotonic() < deadline:
                time.sleep(0.1)  # gunicorn writes the access line just after the response
            log = server.log()
    assert '"GET /my/***/modules/1 HTTP/1.1" 200' in log  # the visits are logged, masked
    assert "enrollments?q=***&country=***" in log
    assert personal not in log
    assert "pedro" not in log.lower()


def test_masking_keeps_the_shape_of_a_line_and_hides_what_opens_a_page():
    assert mask_secrets('"GET /my/AbC-_1/modules/1 HTTP/1.1" 200') == (
        '"GET /my/***/modules/1 HTTP/1.1" 200'
    )
    assert mask_secrets("GET /my/lost HTTP/1.1") == "GET /my/lost HTTP/1.1"
    assert mask_secrets("/language/en?next=%2Fmy%2Fabc") == "/language/en?next=***"
    assert mask_secrets("/x?q=ana&page=2") == "/x?q=***&page=***"


def test_an_error_on_a_personal_page_logs_the_path_without_the_token(app, client, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/my/<token>/explodes")
    def explodes(token: str):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="courses"):
        assert client.get("/my/SeCrEtToKeN123/explodes?q=ana").status_code == 500
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "unhandled error on GET /my/***/explodes?q=***" in logged
    assert "SeCrEtToKeN123" not in logged and "ana" not in logged


def test_several_workers_with_in_memory_rate_limits_warn_at_start_up(tmp_path):
    with server_database(tmp_path) as url:
        prepare(url, tmp_path)
        env = {"RATELIMIT_ENABLED": "1"}
        with servers(url, tmp_path, count=1, workers=2, env=env) as (server,):
            log = server.log()
        assert "Rate limits are counted in memory by each of the 2 workers" in log
        assert "RATELIMIT_STORAGE_URI=redis://" in log
        quiet = tmp_path / "one"
        quiet.mkdir()
        with servers(url, quiet, count=1, workers=1, env=env) as (server,):
            assert "Rate limits are counted in memory" not in server.log()
