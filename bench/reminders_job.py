"""The daily reminders job on a real database: how long it reads, how long it holds the lock.

`python -m bench.reminders_job DATABASE_URL [--now ISO-INSTANT] [--profile FILE]` runs
every reminders period due at `now` (default: the current instant) through the scheduler's
`run_once`, exactly as the worker does, and prints, for each period, the transactions it
opened: those that only read (the job's read phase, which on SQLite takes no lock) and those
that may write (on SQLite a BEGIN IMMEDIATE: the write lock is held from begin to commit, and
every registration waits for it), with their wall and CPU seconds, and the messages queued.

It copies nothing and changes the database it is given: point it at a copy, e.g.
`cp bench/results/run-…/bench.sqlite3 /tmp/r.sqlite3`, and when the day's reminders have run
there already, `sqlite3 /tmp/r.sqlite3 "delete from outbox_message where kind like
'reminder%'; delete from job_run where job='reminders';"` first.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import event, func, select


@dataclass
class Transaction:
    writes: bool
    wall: float = 0.0
    cpu: float = 0.0


@dataclass
class Transactions:
    """Every transaction the application's engine opens, timed from begin to commit/rollback."""

    done: list[Transaction] = field(default_factory=list)
    _open: dict[int, tuple[Transaction, float, float]] = field(default_factory=dict)

    def listen(self, engine) -> None:
        # Listeners added after the application's own: on SQLite the writer lock and BEGIN
        # IMMEDIATE have already happened, so "begin" here is the moment the lock is held.
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _begin(self, conn) -> None:
        from courses import database

        record = Transaction(writes=database.may_write())
        self._open[id(conn)] = (record, time.perf_counter(), time.process_time())

    def _end(self, conn) -> None:
        opened = self._open.pop(id(conn), None)
        if opened is None:
            return
        record, wall, cpu = opened
        record.wall, record.cpu = time.perf_counter() - wall, time.process_time() - cpu
        self.done.append(record)

    def take(self) -> list[Transaction]:
        done, self.done = self.done, []
        return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reminders_job", description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--now", help="the instant to run at (ISO 8601 with offset)")
    parser.add_argument(
        "--profile", help="write a pyinstrument profile of the run here (.html, else text)"
    )
    args = parser.parse_args(argv)

    from courses import create_app, database
    from courses.extensions import db
    from courses.mail.models import OutboxMessage
    from courses.reminders import job as reminders
    from courses.reminders.rules import KINDS
    from courses.worker.jobs import JOBS
    from courses.worker.schedule import has_run, run_once

    now = datetime.fromisoformat(args.now) if args.now else database.utcnow()
    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": args.database_url})
    [job] = [job for job in JOBS if job.name == "reminders"]

    def queued() -> int:
        count = select(func.count()).where(OutboxMessage.kind.in_(KINDS))
        return db.session.scalar(count) or 0

    with app.app_context():
        with database.read_only():
            due = [p for p in reminders.periods(now) if not has_run(job.name, p)]
            before = queued()
            db.session.rollback()
        if not due:
            print(f"no reminders period due at {now.isoformat()} that has not run (see --help)")
            return
        watch = Transactions()
        watch.listen(db.engine)
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        for period in due:
            cpu, wall = time.process_time(), time.perf_counter()
            ran = run_once(job, period, now)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            spans = watch.take()
            reads = [t for t in spans if not t.writes]
            writes = [t for t in spans if t.writes]
            print(
                f"period {period}: ran={ran} total {wall:.2f} s wall, {cpu:.2f} s CPU; "
                f"read phase {sum(t.wall for t in reads):.2f} s wall "
                f"({sum(t.cpu for t in reads):.2f} s CPU, {len(reads)} transaction(s)); "
                f"writing {sum(t.wall for t in writes):.2f} s wall "
                f"({sum(t.cpu for t in writes):.2f} s CPU, {len(writes)} transaction(s), "
                f"longest {max((t.wall for t in writes), default=0.0):.2f} s)"
            )
        if profiler is not None:
            profiler.stop()
            with open(args.profile, "w") as out:
                html = args.profile.endswith(".html")
                out.write(profiler.output_html() if html else profiler.output_text())
            print(f"profile: {args.profile}")
        with database.read_only():
            print(f"messages queued: {queued() - before}")
            db.session.rollback()


if __name__ == "__main__":
    main()
