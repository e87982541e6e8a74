"""`python -m bench` (what `make bench` runs): the app against the bare stack, same run, same box.

Everything runs on 127.0.0.1 in a temporary folder: a fresh SQLite database with 100,000
enrollments (and PostgreSQL too when BENCH_DATABASE_URL names a server: a fresh database is
created there and dropped afterwards), the app in production config under gunicorn, the
baseline app (bench/baseline.py) under the same settings, a real SMTP server catching mail.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine

from bench import exports, report, scenarios, seed
from bench.loadgen import have_wrk
from bench.servers import (
    Gunicorn,
    MailCatcher,
    OutboxWorker,
    SmtpSink,
    free_port,
    mail_server,
)
from courses.certificates.keys import create_key_file
from courses.ops.probe import scratch_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
COORDINATOR = "bench-admin@example.org"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "3")))
    parser.add_argument(
        "--duration",
        type=float,
        default=float(env("BENCH_DURATION", "6")),
        help="seconds per scenario and round",
    )
    parser.add_argument("--warmup", type=float, default=float(env("BENCH_WARMUP", "2")))
    parser.add_argument("--connections", type=int, default=int(env("BENCH_CONNECTIONS", "16")))
    parser.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS", "2")))
    parser.add_argument("--enrollments", type=int, default=int(env("BENCH_ENROLLMENTS", "100000")))
    parser.add_argument("--export-rounds", type=int, default=int(env("BENCH_EXPORT_ROUNDS", "2")))
    parser.add_argument(
        "--engine", choices=("auto", "wrk", "python"), default=env("BENCH_ENGINE", "auto")
    )
    parser.add_argument(
        "--mail",
        choices=("auto", "smtp-sink", "aiosmtpd"),
        default=env("BENCH_MAIL", "auto"),
        help="the SMTP server the worker delivers to (auto: smtp-sink when postfix is installed)",
    )
    parser.add_argument(
        "--database-url",
        default=env("BENCH_DATABASE_URL", ""),
        help="also run against this PostgreSQL server (a fresh database is made)",
    )
    parser.add_argument(
        "--only",
        default=env("BENCH_ONLY", ""),
        help="comma-separated scenario keys (catalogue, course, form, register, "
        "register_slowmail, my, verify, pdf)",
    )
    parser.add_argument(
        "--profile",
        default=env("BENCH_PROFILE", "auto"),
        help="py-spy the app workers in one extra run of: 'auto' (scenarios that missed a "
        "target), 'none', or comma-separated scenario keys",
    )
    parser.add_argument("--skip-exports", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="only build and keep the seeded SQLite database (for python -m bench.profile)",
    )
    args = parser.parse_args(argv)
    # argparse checks the choices of flags given, not of defaults from the environment.
    for name in ("engine", "mail"):
        action = next(a for a in parser._actions if a.dest == name)
        if getattr(args, name) not in action.choices:
            parser.error(f"BENCH_{name.upper()} must be one of {', '.join(action.choices)}")
    return args


@contextmanager
def postgres_database(server_url: str):
    """A fresh PostgreSQL database on the given server, dropped afterwards."""
    with scratch_database(server_url, prefix="courses_bench") as url:
        yield url


def bench_database(
    args, workdir: Path, label: str, url: str, mail: MailCatcher | SmtpSink, log
) -> dict:
    """Seed one database, run the load rounds against it and the baseline, then the exports."""
    from bench.baseline import metadata as baseline_metadata
    from courses import create_app
    from courses.extensions import db

    app_port = free_port()
    secret = secrets.token_urlsafe(32)
    env = {
        "COURSES_CONFIG": "production",
        "SECRET_KEY": secret,
        "DATABASE_URL": url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{app_port}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mail.port),
        "MAIL_TIMEOUT": "5",
        "RATELIMIT_ENABLED": "0",
        # A signing key, so certificates carry their signed QR proof as in production.
        "SIGNING_KEYS_FILE": str(workdir / f"signing-keys-{label}.json"),
    }
    os.environ.update(env)  # create_app below reads the same settings as the servers
    create_key_file(Path(env["SIGNING_KEYS_FILE"]), datetime.now(UTC))
    notes: list[str] = []
    started = time.monotonic()
    seed.prepare_schema(env, notes)
    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": url})
    seeded = seed.fill(app, args.enrollments, datetime.now(UTC))
    notes += seeded.notes
    code, out = seed.flask_cli(
        ["coordinators", "create", COORDINATOR, "--role", "admin"],
        env,
        stdin=f"{secret}\n{secret}\n",
    )
    if code:
        notes.append(f"`coordinators create` unavailable or failed: {seed.reason(out)}")
    log(f"[{label}] seeded in {time.monotonic() - started:.0f} s: " + "; ".join(seeded.notes))
    if args.seed_only:
        (workdir / "secret_key").write_text(secret)
        (workdir / "tokens.txt").write_text("\n".join(
            [f"my /my/{t}" for t in seeded.my_tokens[:20]]
            + [f"verify /verify/{c}" for c in seeded.codes[:20]]
            + [f"form /courses/{seeded.course_slug}/{seeded.edition_slug}/register"]
        ) + "\n")  # fmt: skip
        log(f"seeded database: {url} (SECRET_KEY in {workdir / 'secret_key'}, "
            f"sample paths in {workdir / 'tokens.txt'})")  # fmt: skip
        return {"database": label, "scenarios": [], "exports": [], "notes": notes, "app": app}

    base_url = (
        url
        if url.startswith("postgresql")
        else f"sqlite:///{workdir / f'baseline-{label}.sqlite3'}"
    )
    baseline_metadata.create_all(create_engine(base_url))
    app_server = Gunicorn("wsgi:app", env, workdir, args.workers, "app", port=app_port).start()
    # As in production: the delivery worker runs beside gunicorn and shares its CPU.
    worker = OutboxWorker(env, workdir).start()
    base_server = None
    counter = None
    try:
        app_list = scenarios.app_scenarios(seeded)
        if args.only:
            wanted = set(args.only.split(","))
            app_list = [s for s in app_list if s.key in wanted]
        scenarios.probe(app_list, app_server.url)
        form = next((s for s in scenarios.app_scenarios(seeded) if s.key == "form"), None)
        form_bytes = 8000
        if form:
            from bench.loadgen import Client

            status, _, body = Client(app_server.url).csrf_token(form.items[0])
            if status == 200:
                form_bytes = len(body)
            else:
                notes.append(
                    f"registration form answered {status}: baseline form padded to 8000 bytes"
                )
        base_env = {
            "SECRET_KEY": secret,
            "BASELINE_DATABASE_URL": base_url,
            "BASELINE_FORM_BYTES": str(form_bytes),
        }
        base_server = Gunicorn(
            "bench.baseline:app", base_env, workdir, args.workers, "baseline"
        ).start()
        base_list = scenarios.baseline_scenarios()
        for s in app_list:
            if s.post_path and not s.missing:
                s.items = scenarios.form_bodies(app_server.url, s.post_path, 64)
        for s in base_list:
            if s.post_path:
                s.items = [f"\t{scenarios.POST_FIELDS}"]
        scenarios.measure_bytes(
            app_list + base_list, {"app": app_server.url, "baseline": base_server.url}
        )
        counter = scenarios.RowCounter(url, base_url)
        order = scenarios.interleave(app_list, base_list)
        scenarios.run_rounds(
            order,
            {"app": app_server, "baseline": base_server},
            counter,
            mail,
            worker,
            rounds=args.rounds,
            duration=args.duration,
            warmup=args.warmup,
            connections=args.connections,
            workdir=workdir,
            engine=args.engine,
            tag=label,
            log=log,
        )
        scenarios.profile_pass(
            order, args.profile, app_server, duration=min(args.duration, 5.0),
            connections=args.connections, workdir=workdir, engine=args.engine, tag=label,
            mail=mail, worker=worker, log=log,
        )  # fmt: skip
    finally:
        if counter:
            counter.dispose()
        app_server.stop()
        worker.stop()
        mail.set_delay(0.0)
        if base_server:
            base_server.stop()
    export_results = []
    if not args.skip_exports:
        single = Gunicorn("wsgi:app", env, workdir, 1, "exports", port=app_port).start()
        try:
            export_results = exports.measure_exports(
                single,
                COORDINATOR,
                secret,
                seeded.edition_slug,
                args.export_rounds,
                args.profile,
                log=log,
            )
        finally:
            single.stop(grace=5)
    with app.app_context():
        db.engine.dispose()
    return {
        "database": label,
        "scenarios": order,
        "exports": export_results,
        "notes": notes,
        "app": app,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.engine == "auto":
        args.engine = "wrk" if have_wrk() else "python"
    began = time.monotonic()
    settings = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "engine": args.engine,
        "rounds": args.rounds,
        "duration": args.duration,
        "warmup": args.warmup,
        "connections": args.connections,
        "workers": args.workers,
        "enrollments": args.enrollments,
        "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "command": "make bench" + (" BENCH_DATABASE_URL=…" if args.database_url else ""),
        "accept_encoding": os.environ.get("BENCH_ACCEPT_ENCODING", "gzip, deflate, br"),
    }
    if args.engine == "python":
        print("wrk not found: using the Python client (install wrk: apt-get install -y wrk)")
    # Under bench/results (git-ignored) rather than /tmp, which shared machines clean up.
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=RESULTS))
    if args.seed_only:
        args.keep = True
        runs = [bench_database(args, workdir, "SQLite", f"sqlite:///{workdir / 'bench.sqlite3'}",
                               MailCatcher(), print)]  # fmt: skip
        return 0
    mail = mail_server(workdir, args.mail).start()
    runs, pdf = [], None
    try:
        databases = [("SQLite", f"sqlite:///{workdir / 'bench.sqlite3'}")]
        for label, url in databases:
            runs.append(bench_database(args, workdir, label, url, mail, print))
        if args.database_url:
            with postgres_database(args.database_url) as url:
                runs.append(bench_database(args, workdir, "PostgreSQL", url, mail, print))
        if not args.only or "pdf" in args.only:
            pdf = exports.measure_pdf(runs[0]["app"])
    finally:
        settings["mail_server"] = mail.summary()
        mail.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}")
    settings["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text_report = report.render(settings, runs, pdf, time.monotonic() - began)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(text_report)
    raw = {
        "settings": settings,
        "pdf": asdict(pdf) if pdf else None,
        "runs": [
            {
                "database": r["database"],
                "notes": r["notes"],
                "scenarios": [
                    {
                        "key": s.key,
                        "missing": s.missing,
                        "bytes_sent": s.bytes_sent,
                        "encoding": s.encoding,
                        "bytes_plain": s.bytes_plain,
                        "checks": s.checks,
                        "results": [asdict(x) for x in s.results],
                    }
                    for s in r["scenarios"]
                ],
                "exports": [asdict(e) for e in r["exports"]],
            }
            for r in runs
        ],
    }
    (RESULTS / "latest.json").write_text(json.dumps(raw, indent=1, default=str))
    print()
    print(text_report)
    print(f"written: {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
