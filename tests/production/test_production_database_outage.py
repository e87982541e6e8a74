"""The database goes away: a 503 page, nothing half-written, and recovery without a restart."""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest
from sqlalchemy.engine import make_url

from tests.production.prodkit import (
    Browser,
    Server,
    engine_for,
    form_path,
    prepare,
    registration_fields,
    scalar,
    server_database,
)
from tests.production.prodnet import TcpProxy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="a database host going away is a PostgreSQL matter; runs in the PostgreSQL pass",
    ),
]


def test_database_unreachable_gives_503_stores_nothing_and_recovers_by_itself(tmp_path):
    with ExitStack() as stack:
        url = stack.enter_context(server_database(tmp_path))
        prepare(url, tmp_path)
        direct = engine_for(url)
        stack.callback(direct.dispose)
        real = make_url(url)
        proxy = TcpProxy(real.port or 5432).start()
        stack.callback(proxy.stop)
        through_proxy = real.set(host="127.0.0.1", port=proxy.port)
        server = Server(
            through_proxy.render_as_string(hide_password=False), tmp_path / "gunicorn.log"
        ).start()
        stack.callback(server.stop)
        form = form_path("b")

        def enrollments() -> int:
            return scalar(direct, "SELECT count(*) FROM enrollment")

        visitor = Browser(server.base, timeout=30)
        token = visitor.csrf_from(form)
        assert visitor.post(form, registration_fields(1, token))[0] == 303
        assert Browser(server.base).get("/healthz")[0] == 200

        proxy.stop()  # the database host is gone; pooled connections die with it
        for _ in range(3):  # every worker, whatever its pool held
            status, _headers, page = visitor.post(form, registration_fields(2, token))
            assert status == 503
            assert "Servicio no disponible" in page
            assert "psycopg" not in page and str(proxy.port) not in page
        status, _, page = Browser(server.base).get("/courses/prueba-carga")
        assert status == 503 and "Servicio no disponible" in page
        status, _, body = Browser(server.base).get("/healthz")
        assert status == 503 and '"unreachable"' in body
        assert enrollments() == 1  # nothing half-written
        assert scalar(direct, "SELECT count(*) FROM outbox_message") == 1

        proxy.start()  # the database is back: no restart, the pool reconnects
        assert Browser(server.base).get("/healthz")[0] == 200
        assert visitor.post(form, registration_fields(2, token))[0] == 303
        assert enrollments() == 2
        # Every failure was a clean 503: no unhandled error, no 500 in the access log.
        log = server.log()
        assert "unhandled error" not in log and '" 500 ' not in log
