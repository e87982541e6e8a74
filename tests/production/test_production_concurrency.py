"""Invariants held by the database under concurrency, through two gunicorn servers at once.

Each test starts two gunicorn masters (four sync workers each) on different ports, sharing one
database: a file SQLite database in the SQLite pass, a private PostgreSQL database in the
PostgreSQL pass of `make test`. Clients fetch the form first (real session and CSRF token), then
all submit at the same moment.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from contextlib import ExitStack

import pytest
import redis
from sqlalchemy import text

from courses import create_app
from courses.registration import tokens
from tests.production.prodkit import (
    BIN,
    ROOT,
    SECRET,
    Browser,
    engine_for,
    form_path,
    prepare,
    redis_reachable,
    registration_fields,
    rows,
    run_parallel,
    scalar,
    server_database,
    server_environment,
    servers,
)
from tests.production.prodnet import smtp_sink

pytestmark = pytest.mark.slow

#: This run's rate-limit counters in the shared Redis.
LIMIT_PREFIX = f"courses-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(database URL, engine, [two servers], SMTP sink); edition "2099" has 50 seats."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    with ExitStack() as stack:
        url = stack.enter_context(server_database(tmp_path))
        prepare(url, tmp_path, capacity=50)
        smtp = stack.enter_context(smtp_sink())
        env = {"MAIL_PORT": str(smtp.port), "TRUSTED_PROXIES": "1", "RATELIMIT_ENABLED": "1"}
        if redis_reachable():
            # As in production: rate limits counted in one Redis for both servers.
            env["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/0"
            env["RATELIMIT_KEY_PREFIX"] = LIMIT_PREFIX
        started = stack.enter_context(servers(url, tmp_path, count=2, workers=4, env=env))
        engine = engine_for(url)
        stack.callback(engine.dispose)
        yield url, engine, started, smtp
        for server in started:
            assert "database is locked" not in server.log()
            assert "Traceback" not in server.log(), server.log()[-3000:]


def _edition_id(engine, slug: str) -> int:
    return scalar(engine, "SELECT id FROM edition WHERE slug = :slug", slug=slug)


def _browsers(started, count: int, form: str) -> list[Browser]:
    """`count` visitors spread over the servers, each holding a fresh form token."""
    # Each visitor behind its own address (as the proxy reports it), as on a real campaign day.
    browsers = [
        Browser(started[i % len(started)].base, forwarded_for=f"10.9.{i // 200}.{i % 200 + 1}")
        for i in range(count)
    ]
    tokens_ = run_parallel([(lambda b=b: b.csrf_from(form)) for b in browsers], threads=16)
    for browser, token in zip(browsers, tokens_, strict=True):
        assert isinstance(token, str), token
        browser.token = token
    return browsers


def test_400_simultaneous_registrations_fill_50_seats_and_wait_list_the_rest(cluster):
    """No "try again" in a rush: every seat change waits for the edition's row lock."""
    url, engine, started, _smtp = cluster
    form = form_path("2099")
    people = 400
    browsers = _browsers(started, people, form)
    answers = run_parallel(
        [
            (lambda n=n, b=b: b.post(form, registration_fields(n, b.token)))
            for n, b in enumerate(browsers)
        ],
        threads=60,
    )
    statuses = [a[0] if isinstance(a, tuple) else repr(a) for a in answers]
    assert statuses.count(303) == people, sorted(set(map(str, statuses)))

    edition = _edition_id(engine, "2099")
    counts = dict(
        rows(
            engine,
            "SELECT status, count(*) FROM enrollment WHERE edition_id = :e GROUP BY status",
            e=edition,
        )
    )
    assert counts == {"registered": 50, "waiting": people - 50}
    seats = rows(
        engine, "SELECT seat FROM enrollment WHERE edition_id = :e AND seat > 0", e=edition
    )
    assert sorted(seat for (seat,) in seats) == list(range(1, 51))
    # No lost submission: every answered POST has its row.
    stored = rows(engine, "SELECT email_key FROM enrollment WHERE edition_id = :e", e=edition)
    assert {key for (key,) in stored} == {f"persona{n}@example.org" for n in range(people)}
    # Each enrollment has its confirmation or waiting-list e-mail queued (delivered or not).
    queued = scalar(
        engine,
        "SELECT count(DISTINCT m.enrollment_id) FROM outbox_message m "
        "JOIN enrollment e ON e.id = m.enrollment_id WHERE e.edition_id = :e",
        e=edition,
    )
    assert queued == people
    if redis_reachable():
        # Both servers counted these submissions in the one Redis, per visitor address.
        counters = redis.Redis(host="127.0.0.1", port=6379).keys(f"*{LIMIT_PREFIX}*10.9.*")
        assert len(counters) >= people


def test_the_same_email_ten_times_at_once_registers_once(cluster):
    url, engine, started, _smtp = cluster
    form = form_path("b")
    browsers = _browsers(started, 10, form)
    answers = run_parallel(
        [
            (lambda b=b: b.post(form, registration_fields(7, b.token, "Repetida@Example.org")))
            for b in browsers
        ]
    )
    assert [a[0] for a in answers] == [303] * 10, answers
    edition = _edition_id(engine, "b")
    assert scalar(engine, "SELECT count(*) FROM enrollment WHERE edition_id = :e", e=edition) == 1
    confirmation = form.replace("/register", "/registered")
    pages = [b.get(confirmation)[2] for b in browsers]
    done = [p for p in pages if "Tu inscripción en la edición" in p]
    already = [p for p in pages if "Este correo ya está inscrito" in p]
    assert len(done) == 1 and len(already) == 9


def test_the_last_module_completed_twice_at_once_gives_one_certificate(cluster):
    url, engine, started, _smtp = cluster
    people = 5
    form = form_path("c")
    browsers = _browsers(started, people, form)
    answers = run_parallel(
        [
            (lambda n=n, b=b: b.post(form, registration_fields(n, b.token)))
            for n, b in enumerate(browsers)
        ]
    )
    assert [a[0] for a in answers] == [303] * people
    edition = _edition_id(engine, "c")
    salts = rows(engine, "SELECT token_salt FROM enrollment WHERE edition_id = :e", e=edition)
    app = create_app("testing", {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        links = [f"/my/{tokens.token_for(salt)}" for (salt,) in salts]

    # Module 1 first; then module 2 (the last) submitted twice at once from two sessions,
    # one through each server.
    for link in links:
        visitor = Browser(started[0].base)
        token = visitor.csrf_from(f"{link}/modules/1")
        assert visitor.post(f"{link}/modules/1/complete", {"csrf_token": token})[0] == 303
    pairs = []
    for link in links:
        for server in started:
            visitor = Browser(server.base)
            visitor.token = visitor.csrf_from(f"{link}/modules/2")
            pairs.append((visitor, link))
    answers = run_parallel(
        [
            (lambda v=v, link=link: v.post(f"{link}/modules/2/complete", {"csrf_token": v.token}))
            for v, link in pairs
        ]
    )
    assert [a[0] for a in answers] == [303] * len(pairs), [a[:2] for a in answers]
    certificates = rows(
        engine,
        "SELECT c.enrollment_id, c.generation FROM certificate c "
        "JOIN enrollment e ON e.id = c.enrollment_id WHERE e.edition_id = :e",
        e=edition,
    )
    assert len(certificates) == people
    assert len({enrollment for enrollment, _ in certificates}) == people
    ready = scalar(
        engine,
        "SELECT count(*) FROM outbox_message m JOIN enrollment e ON e.id = m.enrollment_id "
        "WHERE e.edition_id = :e AND m.kind LIKE 'certificate%'",
        e=edition,
    )
    assert ready == people  # one "certificate ready" e-mail each, not two


def _queue_messages(engine, count: int) -> list[str]:
    ids = [f"<load-{n}@prueba.test>" for n in range(count)]
    with engine.begin() as conn:
        for message_id in ids:
            conn.execute(
                text(
                    "INSERT INTO outbox_message (message_id, kind, recipient, subject, "
                    "body_text, created_at, attempts, next_attempt_at) VALUES (:m, 'test', "
                    "'persona@example.org', 'Prueba', 'Hola', :t, 0, :t)"
                ),
                {"m": message_id, "t": "2020-01-01 00:00:00"},
            )
    return ids


def _outbox_send(url: str, smtp_port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "outbox", "send"],
        cwd=ROOT,
        env=server_environment(url, {"MAIL_PORT": str(smtp_port)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_outbox_senders_at_once_deliver_every_message_exactly_once(cluster):
    url, engine, _started, _smtp = cluster
    with smtp_sink() as smtp:
        queued = _queue_messages(engine, 80)
        senders = [_outbox_send(url, smtp.port) for _ in range(2)]
        outputs = [sender.communicate(timeout=180) for sender in senders]
        assert [s.returncode for s in senders] == [0, 0], outputs
        received = smtp.message_ids()
    loads = sorted(m for m in received if m.startswith("<load-"))
    assert loads == sorted(queued)  # every message delivered, none twice
    assert len(received) == len(set(received))
    unsent = scalar(
        engine, "SELECT count(*) FROM outbox_message WHERE kind = 'test' AND sent_at IS NULL"
    )
    assert unsent == 0
    sent = [int(re.search(r"(\d+) sent", out).group(1)) for out, _ in outputs]
    assert sum(sent) == len(received)


def test_a_request_id_from_the_proxy_is_echoed_and_logged_by_each_server(cluster):
    _url, _engine, started, _smtp = cluster
    for number, server in enumerate(started):
        request_id = f"edge-{uuid.uuid4().hex[:12]}-{number}"
        status, headers, body = Browser(server.base).get(
            "/healthz", headers={"X-Request-ID": request_id}
        )
        assert status == 200 and '"database":"ok"' in body.replace(" ", "")
        assert headers["x-request-id"] == request_id
        assert headers["cache-control"] == "no-store"
        deadline = time.monotonic() + 10
        while f"rid={request_id}" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)  # gunicorn writes the access line just after the response
        assert '"GET /healthz HTTP/1.1" 200' in server.log()
        assert f"rid={request_id}" in server.log()
