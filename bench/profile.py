"""Profile one path in-process with pyinstrument: `python -m bench.profile DATABASE_URL PATH`.

Run it against the database a `make bench BENCH_ARGS=--keep` run left behind (its folder is
printed), e.g. `python -m bench.profile sqlite:///bench/results/run-x/bench.sqlite3 /courses/x`.
`--post` submits the registration form instead (fresh CSRF token, unique e-mail each time).
The SECRET_KEY does not matter for pages; for /my/<token> pass the run's key in SECRET_KEY.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("database_url")
    parser.add_argument("path")
    parser.add_argument("-n", type=int, default=200, help="requests to profile")
    parser.add_argument("--post", action="store_true", help="POST the registration form")
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)

    from pyinstrument import Profiler

    from bench.scenarios import POST_FIELDS
    from bench.servers import MailCatcher
    from courses import create_app

    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    mail = MailCatcher().start()  # a real SMTP server, as in the benchmark
    app = create_app(
        "production",
        {
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": mail.port,
            "MAIL_TIMEOUT": 5.0,
        },
    )
    client = app.test_client()
    body = None
    if args.post:
        page = client.get(args.path).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = POST_FIELDS + f"&csrf_token={token}"
    for _ in range(5):  # warm caches (templates, translations) outside the profile
        _request(client, args.path, body)
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    cpu = time.process_time()
    statuses: dict[int, int] = {}
    with profiler:
        for _ in range(args.n):
            status = _request(client, args.path, body)
            statuses[status] = statuses.get(status, 0) + 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    mail.stop()
    print(
        f"{args.n} requests in {elapsed:.2f} s: {elapsed / args.n * 1000:.1f} ms each, "
        f"CPU {cpu / args.n * 1000:.1f} ms each (with the profiler's overhead); {statuses}"
    )
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())
    return 0


def _request(client, path: str, body: str | None) -> int:
    if body is None:
        response = client.get(path)
        response.close()  # runs call_on_close hooks, as a WSGI server does
        return response.status_code
    unique = secrets.token_hex(6)
    data = body.replace("__E__", f"profile-{unique}").replace(
        "__P__", f"{int(unique, 16) % 10**7:07d}"
    )
    response = client.post(path, data=data, content_type="application/x-www-form-urlencoded")
    response.close()  # delivers the queued mail after the response, as under gunicorn
    return response.status_code


if __name__ == "__main__":
    sys.exit(main())
