"""What one registration POST costs in-process: CPU ms, Python calls and SQL statements.

    SECRET_KEY=$(cat RUN/secret_key) .venv/bin/python -m bench.post_cost \
        sqlite:////tmp/x/bench.sqlite3 [--path /courses/C/E/register] [-n 200] [--rounds 5]

Run it on a *copy* of a seeded benchmark database (it registers people). Each round submits
`-n` fresh registrations through the test client (no server, no profiler) and measures the
process's CPU time; the median round is reported, as the machine may be shared. Then one more
round under cProfile counts Python function calls per POST, and SQL statements are counted
with an engine listener: both are deterministic, the better before/after measure.

`--dump FILE` instead runs a fixed scenario (fresh registrations, the same address again, a
mistyped domain, a refused field, a full edition's waiting list, a webhook) and writes what
it stored and answered as JSON, with tokens, ids and instants replaced, so that two versions
of the code can be compared byte for byte: `diff <(jq . before.json) <(jq . after.json)`.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import re
import secrets
import statistics
import sys
import time

from bench.profiling import plain
from bench.scenarios import POST_FIELDS

DEFAULT_PATH = "/courses/pesca-acuicultura/demo/register"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.post_cost")
    parser.add_argument("database_url")
    parser.add_argument("--path", default=DEFAULT_PATH)
    parser.add_argument("-n", type=int, default=200, help="POSTs per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="also write the cProfile round's stats here")
    parser.add_argument("--dump", help="write the fixed scenario's outcome here instead")
    args = parser.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))

    from sqlalchemy import event

    from bench.servers import MailCatcher
    from courses import create_app
    from courses.extensions import db

    mail = MailCatcher().start()  # as in the benchmark (the web process never uses it)
    app = create_app(
        "production",
        {
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": mail.port,
            "MAIL_TIMEOUT": 5.0,
            "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        },
    )
    client = app.test_client()
    try:
        if args.dump:
            with open(args.dump, "w") as out:
                json.dump(_scenario(app, client, args.path), out, indent=1, ensure_ascii=False)
            return 0
        body = _body(client, args.path)
        for _ in range(20):  # templates, translations, compiled statements: outside the count
            _post(client, args.path, body)
        cpu = []
        with _lock_holds() as held:
            for _ in range(args.rounds):
                started = time.process_time()
                for _ in range(args.n):
                    _post(client, args.path, body)
                cpu.append((time.process_time() - started) / args.n * 1000)
        statements = 0

        def count(*_args) -> None:
            nonlocal statements
            statements += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        profile = cProfile.Profile(time.thread_time)  # CPU, as the rounds measure
        profile.enable()
        for _ in range(args.n):
            _post(client, args.path, body)
        profile.disable()
        if args.profile:
            profile.dump_stats(args.profile)
        event.remove(engine, "before_cursor_execute", count)
        calls = pstats.Stats(profile).total_calls
        print(
            f"CPU per POST: median {statistics.median(cpu):.2f} ms "
            f"(rounds: {', '.join(f'{c:.2f}' for c in cpu)}); "
            f"Python calls per POST: {calls / args.n:,.0f}; "
            f"SQL statements per POST: {statements / args.n:.1f}"
        )
        if held:
            held.sort()
            print(
                "SQLite writer lock held per POST (wall): "
                f"median {statistics.median(held):.2f} ms, "
                f"p99 {held[int(len(held) * 0.99)]:.2f} ms, max {held[-1]:.2f} ms "
                f"({len(held)} holds): what every other writer waits behind"
            )
    finally:
        mail.stop()
    return 0


@contextlib.contextmanager
def _lock_holds():
    """Milliseconds from each taking of the SQLite writer lock to its release (on a file)."""
    from courses.database import WriterLock

    held: list[float] = []
    taken: dict[int, float] = {}
    acquire, release = WriterLock.acquire, WriterLock.release

    def timed_acquire(self, timeout: float) -> bool:
        got = acquire(self, timeout)
        taken[id(self)] = time.perf_counter()
        return got

    def timed_release(self) -> None:
        started = taken.pop(id(self), None)
        if started is not None:
            held.append((time.perf_counter() - started) * 1000)
        release(self)

    WriterLock.acquire, WriterLock.release = timed_acquire, timed_release
    try:
        yield held
    finally:
        WriterLock.acquire, WriterLock.release = acquire, release


def _body(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return POST_FIELDS + f"&csrf_token={token}"


def _post(client, path: str, body: str, unique: str | None = None):
    unique = unique or secrets.token_hex(6)
    data = body.replace("__E__", f"cost-{unique}").replace(
        "__P__", f"{int(unique, 16) % 10**7:07d}"
    )
    response = client.post(path, data=data, content_type="application/x-www-form-urlencoded")
    response.close()
    return response


#: What varies from run to run however the code behaves: tokens, ids, instants.
_VARYING = [
    (re.compile(r"/my/[A-Za-z0-9_\-]{20,}"), "/my/TOKEN"),
    (re.compile(r"%2Fmy%2F[A-Za-z0-9_\-]{20,}"), "%2Fmy%2FTOKEN"),
    (re.compile(r'name="csrf_token"[^>]*value="[^"]+"'), 'name="csrf_token" value="CSRF"'),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
    (re.compile(r"<[0-9a-f]{32}\.[a-z0-9-]*@"), "<MSGID@"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?"), "INSTANT"),
    (re.compile(r"nonce-[A-Za-z0-9_\-+/=]+"), "nonce-NONCE"),
    (re.compile(r'nonce="[^"]+"'), 'nonce="NONCE"'),
]


def _scenario(app, client, path: str) -> dict:
    """Fixed submissions and what each left behind, with the varying parts replaced."""
    from datetime import UTC, datetime

    from sqlalchemy import select, text

    from courses.api.models import Webhook
    from courses.catalog.models import Edition
    from courses.extensions import db

    _, course, edition, _ = path.rsplit("/", 3)
    with app.app_context():
        db.session.add(
            Webhook(
                url="https://hooks.example.org/in",
                secret="s" * 32,
                events=["registration.created"],
                active=True,
                created_at=datetime.now(UTC),
            )
        )
        db.session.commit()
        last_enrollment = db.session.scalar(text("SELECT max(id) FROM enrollment")) or 0
        last_message = db.session.scalar(text("SELECT max(id) FROM outbox_message")) or 0
        last_delivery = db.session.scalar(text("SELECT max(id) FROM webhook_delivery")) or 0
    body = _body(client, path)
    answers = []

    def submit(label: str, data: str) -> None:
        response = client.post(path, data=data, content_type="application/x-www-form-urlencoded")
        answers.append(
            {
                "case": label,
                "status": response.status_code,
                "location": response.headers.get("Location"),
                "body": response.get_data(as_text=True) if response.status_code != 303 else "",
            }
        )
        response.close()
        if response.status_code == 303:
            page = client.get(response.headers["Location"])
            answers[-1]["confirmation"] = page.get_data(as_text=True)
            page.close()

    fresh = body.replace("__P__", "1234567")
    for i in range(3):
        submit(f"fresh {i}", fresh.replace("__E__", f"dump-{i}"))
    submit("already registered", fresh.replace("__E__", "dump-0"))
    submit("already, other case", fresh.replace("__E__", "DUMP-1"))
    submit("mistyped domain", fresh.replace("__E__%40correo.cl", "dump-9%40gmial.com"))
    submit("bad phone", body.replace("__E__", "dump-8").replace("__P__", "x"))
    submit("no consent", fresh.replace("__E__", "dump-7").replace("&consent=y", ""))
    with app.app_context():
        found = db.session.scalar(
            select(Edition).where(Edition.slug == edition, Edition.course.has(slug=course))
        )
        found.capacity = 1
        db.session.commit()
    for i in range(3):
        submit(f"capacity 1, {i}", fresh.replace("__E__", f"full-{i}"))
    with app.app_context():
        found = db.session.scalar(
            select(Edition).where(Edition.slug == edition, Edition.course.has(slug=course))
        )
        found.capacity = 0
        db.session.commit()

    def rows(query: str, after: int) -> list[dict]:
        result = db.session.execute(text(query), {"after": after}).mappings().all()
        return [dict(row) for row in result]

    with app.app_context():
        enrollments = rows(
            "SELECT * FROM enrollment WHERE id > :after ORDER BY id", last_enrollment
        )
        messages = rows("SELECT * FROM outbox_message WHERE id > :after ORDER BY id", last_message)
        deliveries = rows(
            "SELECT * FROM webhook_delivery WHERE id > :after ORDER BY id", last_delivery
        )
    for row in enrollments:
        for column in ("id", "token_salt", "token_hash"):
            row[column] = "X"
    for row in messages + deliveries:
        row["id"] = "X"
        if row.get("enrollment_id"):
            row["enrollment_id"] = row["enrollment_id"] - last_enrollment
    for row in deliveries:
        row["webhook_id"] = "X"
    return plain(
        {
            "answers": answers,
            "enrollments": enrollments,
            "messages": messages,
            "deliveries": deliveries,
        },
        _VARYING,
    )


if __name__ == "__main__":
    sys.exit(main())
