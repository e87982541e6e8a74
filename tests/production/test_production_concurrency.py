"""Invariants held by the database under concurrency, through two gunicorn servers at once.

Each test starts two gunicorn masters (two sync workers each) on different ports, sharing one
database: a file SQLite database in the SQLite pass, a private PostgreSQL database in the
PostgreSQL pass of `make test`. Clients fetch the form first (real session and CSRF token), then
all submit at the same moment.
"""

from __future__ import annotations

import re
import subprocess
from contextlib import ExitStack

import pytest
from prodkit import (
    BIN,
    FORM_PATH,
    ROOT,
    SECRET,
    Browser,
    engine_for,
    prepare,
    registration_fields,
    rows,
    run_parallel,
    scalar,
    server_database,
    server_environment,
    servers,
    smtp_sink,
)
from sqlalchemy import text

from courses import create_app
from courses.registration import tokens

pytestmark = pytest.mark.slow

REGISTERED_PAGE = FORM_PATH.replace("/register", "/registered")


@pytest.fixture
def cluster(tmp_path):
    """(database URL, [two servers], SMTP sink) for an edition with 50 seats."""
    with ExitStack() as stack:
        url = stack.enter_context(server_database(tmp_path))
        prepare(url, tmp_path, capacity=50)
        smtp = stack.enter_context(smtp_sink())
        started = stack.enter_context(
            servers(url, tmp_path, count=2, env={"MAIL_PORT": str(smtp.port)})
        )
        engine = engine_for(url)
        stack.callback(engine.dispose)
        yield url, engine, started, smtp
        for server in started:
            assert "database is locked" not in server.log()
            assert "Traceback" not in server.log(), server.log()[-3000:]


def _browsers(started, count: int) -> list[Browser]:
    """`count` visitors spread over the servers, each holding a fresh form token."""
    browsers = [Browser(started[i % len(started)].base) for i in range(count)]
    tokens_ = run_parallel([(lambda b=b: b.csrf_from(FORM_PATH)) for b in browsers], threads=16)
    for browser, token in zip(browsers, tokens_, strict=True):
        assert isinstance(token, str), token
        browser.token = token
    return browsers


def test_200_simultaneous_registrations_fill_50_seats_and_wait_list_the_rest(cluster):
    url, engine, started, _smtp = cluster
    browsers = _browsers(started, 200)
    answers = run_parallel(
        [
            (lambda n=n, b=b: b.post(FORM_PATH, registration_fields(n, b.token)))
            for n, b in enumerate(browsers)
        ],
        threads=60,
    )
    statuses = [a[0] if isinstance(a, tuple) else repr(a) for a in answers]
    assert statuses.count(303) == 200, sorted(set(map(str, statuses)))

    counts = dict(
        rows(engine, "SELECT status, count(*) FROM enrollment GROUP BY status ORDER BY status")
    )
    assert counts == {"registered": 50, "waiting": 150}
    seats = [r[0] for r in rows(engine, "SELECT seat FROM enrollment WHERE seat IS NOT NULL")]
    assert sorted(seats) == list(range(1, 51))
    stored = {r[0] for r in rows(engine, "SELECT email_key FROM enrollment")}
    assert stored == {f"persona{n}@example.org" for n in range(200)}
    # Every enrollment has its confirmation or waiting-list e-mail queued (delivered or not).
    assert scalar(engine, "SELECT count(DISTINCT enrollment_id) FROM outbox_message") == 200


def test_the_same_email_ten_times_at_once_registers_once(cluster):
    url, engine, started, _smtp = cluster
    browsers = _browsers(started, 10)
    answers = run_parallel(
        [
            (lambda b=b: b.post(FORM_PATH, registration_fields(7, b.token, "Repetida@Example.org")))
            for b in browsers
        ]
    )
    assert [a[0] for a in answers] == [303] * 10, answers
    assert scalar(engine, "SELECT count(*) FROM enrollment") == 1
    pages = [b.get(REGISTERED_PAGE)[2] for b in browsers]
    done = [p for p in pages if "Tu inscripción en la edición" in p]
    already = [p for p in pages if "Este correo ya está inscrito" in p]
    assert len(done) == 1 and len(already) == 9


def test_the_last_module_completed_twice_at_once_gives_one_certificate(cluster):
    url, engine, started, _smtp = cluster
    people = 5
    browsers = _browsers(started, people)
    answers = run_parallel(
        [
            (lambda n=n, b=b: b.post(FORM_PATH, registration_fields(n, b.token)))
            for n, b in enumerate(browsers)
        ]
    )
    assert [a[0] for a in answers] == [303] * people
    salts = [r[0] for r in rows(engine, "SELECT token_salt FROM enrollment ORDER BY id")]
    app = create_app("testing", {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        links = [f"/my/{tokens.token_for(salt)}" for salt in salts]

    # Module 1 first, then module 2 (the last) submitted twice at once from two sessions,
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
    assert scalar(engine, "SELECT count(*) FROM certificate") == people
    assert scalar(engine, "SELECT count(DISTINCT enrollment_id) FROM certificate") == people
    assert scalar(engine, "SELECT count(*) FROM enrollment WHERE completed_at IS NULL") == 0
    ready = scalar(engine, "SELECT count(*) FROM outbox_message WHERE kind LIKE 'certificate%'")
    assert ready == people


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


def test_two_outbox_senders_at_once_deliver_every_message_exactly_once(tmp_path):
    with server_database(tmp_path) as url, smtp_sink() as smtp:
        prepare(url, tmp_path)
        engine = engine_for(url)
        queued = _queue_messages(engine, 80)
        senders = [_outbox_send(url, smtp.port) for _ in range(2)]
        outputs = [sender.communicate(timeout=180) for sender in senders]
        assert [s.returncode for s in senders] == [0, 0], outputs
        received = [m["Message-ID"] for m in smtp.messages]
        assert sorted(received) == sorted(queued)  # all delivered, none twice
        assert scalar(engine, "SELECT count(*) FROM outbox_message WHERE sent_at IS NULL") == 0
        sent = [int(re.search(r"(\d+) sent", out).group(1)) for out, _ in outputs]
        assert sum(sent) == 80
        engine.dispose()
