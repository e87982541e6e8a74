"""The delivery worker as in production: real gunicorn, real `outbox work` processes, real SMTP.

Registrations only commit outbox rows; the worker delivers. With a mail server that takes
2 seconds per message, or one that accepts connections and never answers, every registration
is answered (the web processes never wait for mail) and every message arrives exactly once when
the server is able to take it. Run on SQLite and, in the PostgreSQL pass, on PostgreSQL.
"""

from __future__ import annotations

import os
import threading
from contextlib import ExitStack

import pytest
from sqlalchemy import text

from tests.production.prodkit import (
    Browser,
    OutboxWorker,
    engine_for,
    form_path,
    prepare,
    registration_fields,
    rows,
    run_parallel,
    scalar,
    server_database,
    servers,
    wait_until,
)
from tests.production.prodnet import meet_in_pairs, slow_down, smtp_sink, switchable_smtp

pytestmark = pytest.mark.slow

POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def _register(started, form: str, count: int, first: int = 0) -> list[int]:
    """`count` registrations at once, spread over the servers; their HTTP statuses."""
    browsers = []
    for number in range(count):
        browser = Browser(started[number % len(started)].base)
        browser.token = browser.csrf_from(form)
        browsers.append(browser)
    answers = run_parallel(
        [
            (lambda n=n, b=b: b.post(form, registration_fields(first + n, b.token))[0])
            for n, b in enumerate(browsers)
        ]
    )
    return answers


def _pending(engine) -> int:
    return scalar(engine, "SELECT count(*) FROM outbox_message WHERE sent_at IS NULL")


def _queue_messages(engine, count: int, prefix: str) -> list[str]:
    ids = [f"<{prefix}-{n}@prueba.test>" for n in range(count)]
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
            if POSTGRES:
                conn.execute(text("NOTIFY courses_outbox"))
    return ids


def test_a_slow_mail_server_never_holds_a_registration_and_each_mail_arrives_once(tmp_path):
    with ExitStack() as stack:
        url = stack.enter_context(server_database(tmp_path))
        prepare(url, tmp_path)
        sink = stack.enter_context(smtp_sink())
        slow_down(sink, 2.0)
        env = {"MAIL_PORT": str(sink.port), "MAIL_TIMEOUT": "10"}
        started = stack.enter_context(servers(url, tmp_path, count=1, env=env))
        worker = OutboxWorker(url, tmp_path / "worker.log", env=env).start()
        stack.callback(worker.terminate)
        engine = engine_for(url)
        stack.callback(engine.dispose)

        # Eight registrations at once on two sync workers: if a web worker delivered, each
        # would hold it for 2 s per message; here they are all answered while mail trickles.
        statuses = _register(started, form_path("b"), 8)
        assert statuses == [303] * 8
        assert _pending(engine) >= 1  # answered before their mail could all have gone out
        assert wait_until(lambda: len(sink.messages) >= 8, seconds=120), worker.log()[-3000:]
        assert wait_until(lambda: _pending(engine) == 0, seconds=30)
        received = sink.message_ids()
        queued = [m for (m,) in rows(engine, "SELECT message_id FROM outbox_message")]
        assert sorted(received) == sorted(queued)  # each once
        assert worker.terminate() == 0
        log = worker.log()
        # One line per delivery, never the address.
        assert log.count("(confirmation) delivered") == 8
        assert "@example.org" not in log
        assert "Traceback" not in log


def test_a_hung_mail_server_never_holds_a_registration_and_the_mail_goes_once_it_is_back(
    tmp_path,
):
    with ExitStack() as stack:
        url = stack.enter_context(server_database(tmp_path))
        prepare(url, tmp_path)
        sink = stack.enter_context(smtp_sink())
        relay = stack.enter_context(switchable_smtp(sink.port))
        env = {"MAIL_PORT": str(relay.port), "MAIL_TIMEOUT": "2"}
        started = stack.enter_context(servers(url, tmp_path, count=1, env=env))
        worker = OutboxWorker(url, tmp_path / "worker.log", env=env).start()
        stack.callback(worker.terminate)
        engine = engine_for(url)
        stack.callback(engine.dispose)

        statuses = _register(started, form_path("c"), 6)
        assert statuses == [303] * 6  # answered while the relay says nothing at all
        # The worker has tried the hung relay (and backs off); nothing was delivered.
        assert wait_until(lambda: "mail server unavailable" in worker.log(), seconds=30)
        assert sink.messages == [] and _pending(engine) == 6
        statuses = _register(started, form_path("c"), 4, first=10)
        assert statuses == [303] * 4

        relay.recover()
        assert wait_until(lambda: _pending(engine) == 0, seconds=90), worker.log()[-3000:]
        received = sink.message_ids()
        queued = [m for (m,) in rows(engine, "SELECT message_id FROM outbox_message")]
        assert len(queued) == 10 and sorted(received) == sorted(queued)
        # The outage cost the messages nothing: no attempt counted against them.
        assert rows(engine, "SELECT DISTINCT attempts FROM outbox_message") == [(1,)]
        assert worker.terminate() == 0


def test_sigterm_finishes_the_message_in_hand_and_releases_the_rest(tmp_path):
    with ExitStack() as stack:
        url = stack.enter_context(server_database(tmp_path))
        prepare(url, tmp_path)
        engine = engine_for(url)
        stack.callback(engine.dispose)
        sink = stack.enter_context(smtp_sink())
        in_hand = threading.Event()
        worker = OutboxWorker(url, tmp_path / "worker.log", env={"MAIL_PORT": str(sink.port)})

        async def terminate_during_the_first(_message) -> None:
            import asyncio

            if not in_hand.is_set():
                in_hand.set()
                worker.process.send_signal(15)  # SIGTERM while this message is in hand
                await asyncio.sleep(1.0)

        sink.on_message = terminate_during_the_first
        _queue_messages(engine, 5, "term")
        worker.start()
        assert worker.process.wait(timeout=60) == 0
        worker.terminate()
        assert len(sink.messages) == 1  # the one in hand was finished...
        sent = rows(engine, "SELECT message_id FROM outbox_message WHERE sent_at IS NOT NULL")
        assert [m for (m,) in sent] == sink.message_ids()  # ...and recorded
        # The others were given back untouched, for the next worker.
        rest = rows(
            engine,
            "SELECT attempts, claimed_until FROM outbox_message WHERE sent_at IS NULL",
        )
        assert rest == [(0, None)] * 4
        assert "SIGTERM received" in worker.log()


@pytest.mark.skipif(not POSTGRES, reason="two workers on several hosts means PostgreSQL")
def test_two_workers_on_postgresql_deliver_every_message_once_and_wake_on_notify(tmp_path):
    with ExitStack() as stack:
        url = stack.enter_context(server_database(tmp_path))
        prepare(url, tmp_path)
        engine = engine_for(url)
        stack.callback(engine.dispose)
        sink = stack.enter_context(smtp_sink())
        # The first message waits at the server until the other worker sends one too: whichever
        # starts first cannot empty the outbox alone before the other looks (a loaded machine
        # starts the second one late). The timeout outlasts the rendezvous.
        meet_in_pairs(sink)
        env = {"MAIL_PORT": str(sink.port), "MAIL_TIMEOUT": "120"}
        # Ten minutes between looks: only the NOTIFY of each commit can wake them in time.
        workers = [
            OutboxWorker(url, tmp_path / f"worker-{n}.log", env=env, args=("--idle", "600"))
            for n in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            stack.callback(worker.terminate)
        queued = _queue_messages(engine, 120, "pair")
        assert wait_until(lambda: _pending(engine) == 0, seconds=120)
        received = sink.message_ids()
        assert sorted(received) == sorted(queued)  # every message, none twice
        assert [worker.terminate() for worker in workers] == [0, 0]
        # Both took part (SKIP LOCKED lets them work side by side).
        assert all("delivered" in worker.log() for worker in workers)
