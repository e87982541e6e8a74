"""How long SQLite writers wait for each other, with and without the writer lock.

`python -m bench.writer_wait [--processes 3] [--transactions 300]`: that many processes, each
running write transactions through the app's SQLite settings (`courses.database.install`) that
hold the lock 2 ms with 4 ms of other work between them (sleeps, so the CPU noise of a shared
box weighs little). "off" is the path before the writer lock: SQLite's busy handler alone.
Prints throughput, the wait from `begin` to the first statement, and CPU per transaction.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path


def _writer(url: str, transactions: int, queue_writers: bool, results) -> None:
    from sqlalchemy import create_engine, text

    from courses import database

    if not queue_writers:  # never gets the writer lock: BEGIN IMMEDIATE and SQLite's sleeps
        database.WriterLock.acquire = lambda self, timeout: False  # type: ignore[method-assign]
    engine = create_engine(url)
    database.install(engine)
    waits = []
    cpu = time.process_time()
    for _ in range(transactions):
        time.sleep(0.004)
        asked = time.perf_counter()
        with engine.begin() as conn:
            waits.append(time.perf_counter() - asked)
            conn.execute(text("INSERT INTO t (n) VALUES (1)"))
            time.sleep(0.002)
    results.put((waits, time.process_time() - cpu))


def run(processes: int, transactions: int, queue_writers: bool) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "writers.sqlite3"
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
        conn.close()
        spawn = multiprocessing.get_context("spawn")
        results = spawn.Queue()
        args = (f"sqlite:///{path}", transactions, queue_writers, results)
        workers = [spawn.Process(target=_writer, args=args) for _ in range(processes)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        done = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - started
    waits = sorted(w for got, _ in done for w in got)
    cpu = sum(c for _, c in done)
    ms = [w * 1000 for w in waits]
    return (
        f"writer lock {'on ' if queue_writers else 'off'} {processes} processes: "
        f"{len(waits) / wall:.0f} transactions/s; wait mean {statistics.mean(ms):.2f} ms, "
        f"p50 {ms[len(ms) // 2]:.2f}, p99 {ms[int(len(ms) * 0.99)]:.2f}, max {ms[-1]:.1f}; "
        f"CPU {cpu / len(waits) * 1000:.2f} ms per transaction"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.writer_wait")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--transactions", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.repeat):
        for queue_writers in (False, True):
            print(run(args.processes, args.transactions, queue_writers), flush=True)


if __name__ == "__main__":
    main()
