"""Rate limits in Redis hold across server processes; a limited visitor is told when to retry."""

from __future__ import annotations

import uuid

import pytest

from courses import limits
from tests.production.prodkit import (
    Browser,
    form_path,
    free_port,
    prepare,
    redis_reachable,
    registration_fields,
    server_database,
    servers,
)

pytestmark = pytest.mark.slow


@pytest.mark.redis
@pytest.mark.skipif(not redis_reachable(), reason="Redis is not reachable at 127.0.0.1:6379")
def test_the_per_email_limit_holds_across_two_servers_and_the_429_page_says_when(tmp_path):
    allowed = int(limits.REGISTRATION_PER_EMAIL.split()[0])
    env = {
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        # Counters of this run only, whatever else the Redis server holds.
        "RATELIMIT_KEY_PREFIX": f"courses-test-{uuid.uuid4().hex[:8]}",
    }
    with server_database(tmp_path) as url:
        prepare(url, tmp_path)
        with servers(url, tmp_path, count=2, workers=1, env=env) as (first, second):
            form = form_path("b")
            statuses = []
            for attempt in range(allowed):
                visitor = Browser((first, second)[attempt % 2].base)
                fields = registration_fields(1, visitor.csrf_from(form), "limite@example.org")
                statuses.append(visitor.post(form, fields)[0])
            assert statuses == [303] * allowed  # one registration, then "already registered"

            # Each server alone has seen only half the attempts; the shared count says stop.
            for server in (first, second):
                visitor = Browser(server.base)
                fields = registration_fields(1, visitor.csrf_from(form), "LIMITE@example.org")
                status, headers, page = visitor.post(form, fields)
                assert status == 429
                assert int(headers["retry-after"]) > 0
                assert "Demasiados intentos" in page
                assert "Vuelve a intentarlo en" in page and "minutos" in page

            # Another address from the same client (a shared connection) is not held up.
            visitor = Browser(first.base)
            fields = registration_fields(2, visitor.csrf_from(form), "otra@example.org")
            assert visitor.post(form, fields)[0] == 303


def test_registration_keeps_working_when_redis_is_down(tmp_path):
    env = {
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0",  # nobody listens
    }
    with server_database(tmp_path) as url:
        prepare(url, tmp_path)
        with servers(url, tmp_path, count=1, workers=1, env=env) as (server,):
            form = form_path("b")
            for number in range(3):
                visitor = Browser(server.base)
                fields = registration_fields(number, visitor.csrf_from(form))
                assert visitor.post(form, fields)[0] == 303
            assert '" 500 ' not in server.log()
