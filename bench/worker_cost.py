"""What the delivery worker spends per confirmation e-mail: CPU ms, Python calls, SQL statements.

    .venv/bin/python -m bench.worker_cost sqlite:////tmp/x/bench.sqlite3 [-n 400] [--rounds 5]

Run it on a *copy* of a seeded benchmark database (it adds and sends messages). Each round
queues `-n` messages shaped like the latest confirmation in the outbox (same subject and
bodies, a new Message-ID each), then runs the worker's real turns (`courses.worker.loop.Worker`
with the mail step, `MailDelivery`) until all are delivered to a real SMTP server on 127.0.0.1
(`bench.servers.MailCatcher`, in a process of its own, as a mail server is). The worker's CPU
time is divided by the messages delivered; the median round is reported. `--all-steps` runs
the whole turn (mail, the webhook step's sender thread, the scheduler), not the mail step
alone. One more round under cProfile (CPU time, the worker's main thread) counts Python calls per
message, and an engine listener counts SQL statements per message.

`--dump FILE` writes the bytes the SMTP server received for a few messages (Message-ID and
Date replaced) and the rows' recorded state, to compare two versions of the code.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import re
import secrets
import statistics
import sys
import time
import uuid

from bench.profiling import plain


def _serve(port, count, keep: str | None) -> None:
    """The SMTP server, in a process of its own (as in production): its CPU is not counted, and
    it takes no GIL from the worker. Counts what it accepts; `keep`: a file of what it got."""
    from bench.servers import MailCatcher

    class Counting(MailCatcher):
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
            if keep:
                with open(keep, "a") as out:
                    received = {
                        "from": envelope.mail_from,
                        "to": list(envelope.rcpt_tos),
                        "data": envelope.content.decode("utf-8", "replace"),
                    }
                    out.write(json.dumps(received, ensure_ascii=False) + "\n")
            with count.get_lock():
                count.value += 1
            return "250 Message accepted for delivery"

    server = Counting().start()
    port.value = server.port
    while True:
        time.sleep(3600)


def _start_server(keep: str | None):
    """(process, port, shared count) of a new SMTP server process."""
    context = multiprocessing.get_context("spawn")
    port, count = context.Value("i", 0), context.Value("i", 0)
    process = context.Process(target=_serve, args=(port, count, keep), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while not port.value:
        if time.monotonic() > deadline or not process.is_alive():
            raise RuntimeError("the SMTP server did not start")
        time.sleep(0.05)
    return process, port.value, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_cost")
    parser.add_argument("database_url")
    parser.add_argument("-n", type=int, default=400, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--all-steps",
        action="store_true",
        help="run every step of the worker's turn (webhooks, scheduled jobs), not only mail",
    )
    parser.add_argument("--profile", help="also write the cProfile round's stats here")
    parser.add_argument("--dump", help="write what the SMTP server received here instead")
    args = parser.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))

    from sqlalchemy import event

    from courses import create_app
    from courses.extensions import db
    from courses.mail.worker import MailDelivery
    from courses.worker.loop import Worker
    from courses.worker.steps import steps

    keep = f"{args.dump}.received" if args.dump else None
    if keep and os.path.exists(keep):
        os.remove(keep)
    server, port, received = _start_server(keep)
    app = create_app(
        "production",
        {
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_TIMEOUT": 5.0,
            "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        },
    )
    worker = Worker(app, steps() if args.all_steps else [MailDelivery()], idle_seconds=1.0)

    def worker_cpu() -> float:
        # The whole process: the webhook step sends from a thread of its own.
        return time.process_time()

    counting = {"on": False, "statements": 0}

    def count(*_args) -> None:
        if counting["on"]:
            counting["statements"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)

    def drain(count: int, profile: cProfile.Profile | None = None) -> float:
        """Queue `count` messages, run turns until they are all sent; the worker's CPU s."""
        _queue(app, count)
        expected = received.value + count
        counting["on"] = profile is not None
        if profile is not None:
            profile.enable()
        started = worker_cpu()
        while received.value < expected:
            # A partial batch leaves the loop idle until the next poll; here the next turn
            # runs at once (the poll's own read is the same either way).
            worker.turn()
        spent = worker_cpu() - started
        if profile is not None:
            profile.disable()
        counting["on"] = False
        return spent

    try:
        if args.dump:
            _queue(app, 3, headers={"List-Unsubscribe": "<http://127.0.0.1:8000/stop/x>"})
            _queue(app, 2)
            while received.value < 5:
                worker.turn()
            with open(keep) as lines:
                got = [json.loads(line) for line in lines]
            os.remove(keep)
            with app.app_context():
                rows = db.session.execute(
                    db.text(
                        "SELECT kind, attempts, claimed_until IS NULL AS released, "
                        "sent_at IS NOT NULL AS sent, last_error, failed_at FROM outbox_message "
                        "ORDER BY id DESC LIMIT 5"
                    )
                ).mappings()
                state = [dict(row) for row in rows]
            with open(args.dump, "w") as out:
                json.dump(
                    {"received": plain(got, _VARYING), "rows": state},
                    out,
                    indent=1,
                    ensure_ascii=False,
                )
            return 0
        drain(60)  # warm: compiled statements, the SMTP connection's code paths
        cpu = [drain(args.n) / args.n * 1000 for _ in range(args.rounds)]
        # CPU time, not wall time: waits for the SMTP server's answers are not the worker's.
        profile = cProfile.Profile(time.thread_time)
        drain(args.n, profile)
        if args.profile:
            profile.dump_stats(args.profile)
        calls = pstats.Stats(profile).total_calls
        print(
            f"worker CPU per message: median {statistics.median(cpu):.3f} ms "
            f"(rounds: {', '.join(f'{c:.3f}' for c in cpu)}); "
            f"Python calls per message: {calls / args.n:,.0f}; "
            f"SQL statements per message: {counting['statements'] / args.n:.2f}"
        )
    finally:
        for step in worker.steps:
            if (close := getattr(step, "close", None)) is not None:
                close()
        server.terminate()
    return 0


def _queue(app, count: int, headers: dict | None = None) -> None:
    """Add `count` copies of the newest confirmation (or any message) as due, in one commit."""
    from sqlalchemy import text

    from courses import clock
    from courses.extensions import db

    with app.app_context():
        sample = (
            db.session.execute(
                text(
                    "SELECT * FROM outbox_message ORDER BY kind = 'confirmation' DESC, id DESC "
                    "LIMIT 1"
                )
            )
            .mappings()
            .one()
        )
        now = clock.now()
        rows = [
            {
                **dict(sample),
                "id": None,
                "message_id": f"<{uuid.uuid4().hex}.confirmation@127.0.0.1>",
                "created_at": now.replace(tzinfo=None),
                "next_attempt_at": now.replace(tzinfo=None),
                "attempts": 0,
                "claimed_until": None,
                "sent_at": None,
                "failed_at": None,
                "last_error": None,
                "headers": json.dumps(headers) if headers else None,
            }
            for _ in range(count)
        ]
        columns = ", ".join(rows[0])
        values = ", ".join(f":{name}" for name in rows[0])
        db.session.execute(text(f"INSERT INTO outbox_message ({columns}) VALUES ({values})"), rows)
        db.session.commit()


_VARYING = [
    (re.compile(r"<[0-9a-f]{32}\.[a-z0-9-]*@[^>]*>"), "<MSGID>"),
    (re.compile(r"^Date: .*$", re.M), "Date: DATE"),
    (re.compile(r"===============\d+=="), "===============BOUNDARY=="),
]


if __name__ == "__main__":
    sys.exit(main())
