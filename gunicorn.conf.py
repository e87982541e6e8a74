"""Gunicorn settings for `make serve` and production (`gunicorn -c gunicorn.conf.py wsgi:app`).

Every value comes from the environment, so one file serves every host:
- GUNICORN_WORKERS (or WEB_CONCURRENCY, as set by many platforms): worker processes, default 2.
- GUNICORN_BIND: full bind address; otherwise 127.0.0.1:PORT (PORT default 8000). The app sits
  behind a reverse proxy (nginx, caddy) that buffers slow phone connections for the sync workers.
- GUNICORN_TIMEOUT: seconds before a stuck worker is replaced, default 30.
- GUNICORN_CONTROL_SOCKET: a path for gunicornc's control socket (default: none).
"""

from __future__ import annotations

import gc
import os

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    """Read a whole number from the environment, refusing nonsense with a clear message."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} must be a whole number") from None
    if value < 1:
        raise SystemExit(f"{name}={raw!r} must be at least 1")
    return value


# Sync workers: each request gets a whole process; the database holds every invariant, so
# processes share nothing and more hosts or workers scale out.
worker_class = "sync"
workers = _int("GUNICORN_WORKERS", _int("WEB_CONCURRENCY", 2))
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{_int('PORT', 8000)}"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never takes a host down. Not too often: a new
# worker starts with cold caches (compiled templates and statements, formatted dates, the
# translations) and copies the memory it shares with the master as it touches it, tens of
# milliseconds of CPU that every recycle costs again; at a few hundred requests a second,
# 2,000 requests was a recycle every few seconds.
max_requests = 20000
max_requests_jitter = 2000
# Build the application once in the master and fork it: a recycled worker is ready at once,
# instead of importing and building the app (≈ 1 s of CPU) while requests queue behind it
# (the 1-second p99 spikes in docs/benchmarks.md).
preload_app = True


def when_ready(server) -> None:
    """Say loudly when rate limits cannot hold: in-memory counters split over several workers."""
    from wsgi import app

    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if workers > 1 and app.config.get("RATELIMIT_ENABLED") and storage.startswith("memory"):
        server.log.warning(
            "Rate limits are counted in memory by each of the %s workers, so every limit "
            "(registrations per address, failed logins) is %s times looser than configured. "
            "Set RATELIMIT_STORAGE_URI=redis://… (see docs/deploy.md).",
            workers,
            workers,
        )


def pre_fork(server, worker) -> None:
    """Freeze what the master built (the application, its imports) out of the garbage
    collector's sight before forking: a worker's collections then never walk those objects,
    so they stay shared with the master instead of being copied page by page, and a full
    collection costs a fraction of a millisecond instead of tens (Python's `gc.freeze` docs)."""
    gc.freeze()


def post_fork(server, worker) -> None:
    """Give each worker its own database connections: never share a socket across a fork."""
    from courses.extensions import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)


# Logs to standard error (journald or the platform collects them). The access line carries the
# request id that the application echoes in X-Request-ID and puts in its own log lines.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'


class MaskingLogger(Logger):
    """Gunicorn's logger with personal tokens and query values masked in every line.

    A request line such as "GET /my/<token>/modules/1" would let anyone who reads the logs
    open that person's page; "?q=pedro" is a coordinator's search for a person.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        from courses.site.logging import mask_handlers

        mask_handlers(self.error_log)
        mask_handlers(self.access_log)


logger_class = MaskingLogger

# Trust X-Forwarded-Proto only from the local reverse proxy (see docs/deploy.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicorn's control socket defaults to one path per user, which two instances on one host
# (or the test suite's servers) would fight over; systemd signals do the same job. Set
# GUNICORN_CONTROL_SOCKET to a path of this instance's own to use `gunicornc`.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
