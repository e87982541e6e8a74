"""Real processes for the production tests: gunicorn servers, an SMTP sink, a cookie browser.

Nothing here is a mock: servers are `gunicorn -c gunicorn.conf.py wsgi:app` in production
configuration against a file SQLite database or a private PostgreSQL database, mail goes to an
aiosmtpd server on 127.0.0.1, and clients speak HTTP with cookies and real CSRF tokens.
"""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from courses.ops.probe import scratch_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "production-tests-secret-key-0123456789"
COURSE = "prueba-carga"
EDITION = "2099"
FORM_PATH = f"/courses/{COURSE}/{EDITION}/register"

COURSE_TOML = """
slug = "prueba-carga"
title = "Curso de prueba de carga"
description = "Un curso para las pruebas de producción."
organizers = ["Equipo de pruebas"]
timezone = "America/Santiago"
completion = "self"
countries = ["CL", "CO", "MX", "PE"]

[[modules]]
title = "Módulo uno"
video_url = "https://www.youtube.com/watch?v=aaaaaaaaaaa"

[[modules]]
title = "Módulo dos"
video_url = "https://www.youtube.com/watch?v=bbbbbbbbbbb"

[[editions]]
slug = "2099"
registration_opens = 2020-01-01
registration_closes = 2099-12-31
capacity = {capacity}

# Editions of their own for tests sharing one set of servers.
[[editions]]
slug = "b"
registration_opens = 2020-01-01
registration_closes = 2099-12-31

[[editions]]
slug = "c"
registration_opens = 2020-01-01
registration_closes = 2099-12-31

[[editions]]
slug = "d"
registration_opens = 2020-01-01
registration_closes = 2099-12-31
"""


def form_path(edition: str = EDITION) -> str:
    """The registration form of one of the test course's editions."""
    return f"/courses/{COURSE}/{edition}/register"


def redis_reachable() -> bool:
    """Whether the Redis server the CI machine provides answers on 127.0.0.1:6379."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- databases -------------------------------------------------------------------------------


@contextmanager
def server_database(tmp_path: Path) -> Iterator[str]:
    """A fresh database for server processes: PostgreSQL in the PostgreSQL pass, else SQLite."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
        return
    with scratch_database(base, prefix="courses_prod") as url:
        yield url


def flask_cli(
    database_url: str, *args: str, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run `flask --app wsgi ARGS` in production configuration against `database_url`."""
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=server_environment(database_url, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def prepare(database_url: str, tmp_path: Path, capacity: int = 0) -> None:
    """Migrate the database with `db upgrade` and load the test course with `courses load`."""
    done = flask_cli(database_url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    course_file = tmp_path / "prueba-carga.toml"
    course_file.write_text(COURSE_TOML.replace("{capacity}", str(capacity)), encoding="utf-8")
    done = flask_cli(database_url, "courses", "load", str(course_file))
    assert done.returncode == 0, done.stdout + done.stderr


def engine_for(database_url: str) -> Engine:
    """A plain engine to look at what the servers stored."""
    return create_engine(database_url)


def scalar(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(engine: Engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


# --- servers ---------------------------------------------------------------------------------


def server_environment(database_url: str, extra: dict | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "RATELIMIT_", "GUNICORN_", "DATABASE_", "TEST_DATABASE"))
    }
    env.update(
        COURSES_CONFIG="production",
        SECRET_KEY=SECRET,
        DATABASE_URL=database_url,
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
        RATELIMIT_ENABLED="0",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(closed_port()),
        MAIL_TIMEOUT="2",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env


_CLOSED_PORT: int | None = None


def closed_port() -> int:
    """A port where nothing listens (mail "down" unless a test starts a server)."""
    global _CLOSED_PORT
    if _CLOSED_PORT is None:
        _CLOSED_PORT = free_port()
    return _CLOSED_PORT


@dataclass
class Server:
    """One gunicorn master with its workers, in production configuration."""

    database_url: str
    log_path: Path
    workers: int = 2
    env: dict = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.port = self.port or free_port()
        env = server_environment(
            self.database_url,
            {
                "GUNICORN_WORKERS": str(self.workers),
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                **self.env,
            },
        )
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()
        return self

    def wait_ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-3000:]}")
            try:
                status, _, _ = Browser(self.base).get("/healthz")
                if status in (200, 503):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # quick shutdown; tests need no grace
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def servers(database_url: str, tmp_path: Path, count: int = 2, **kwargs) -> Iterator[list]:
    """`count` gunicorn servers on different ports sharing one database."""
    started: list[Server] = []
    try:
        for number in range(count):
            server = Server(database_url, tmp_path / f"gunicorn-{number}.log", **kwargs)
            started.append(server.start())
        yield started
    finally:
        for server in started:
            server.stop()


@dataclass
class OutboxWorker:
    """One `flask --app wsgi outbox work` process, in production configuration."""

    database_url: str
    log_path: Path
    env: dict = field(default_factory=dict)
    args: tuple[str, ...] = ()
    process: subprocess.Popen | None = None

    def start(self) -> OutboxWorker:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "outbox", "work", *self.args],
            cwd=ROOT,
            env=server_environment(self.database_url, self.env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while "worker: started" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"outbox work did not start: {self.log()[-3000:]}")
            time.sleep(0.1)
        return self

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as systemd sends; wait for the exit and return its code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_until(condition, seconds: float = 60, step: float = 0.2) -> bool:
    """Poll `condition()` until it is true or `seconds` pass; whether it became true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


# --- HTTP ------------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class Browser:
    """One visitor: keeps cookies, speaks HTTP/1.1 with a new connection per request."""

    def __init__(self, base: str, timeout: float = 60, forwarded_for: str | None = None) -> None:
        self.base = base
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        #: As if a reverse proxy (TRUSTED_PROXIES=1) had seen this visitor's address.
        self.forwarded_for = forwarded_for

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = HTTPConnection(self.host, self.port, timeout=self.timeout)
        sent = dict(headers or {})
        if self.forwarded_for:
            sent.setdefault("X-Forwarded-For", self.forwarded_for)
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            content = response.read().decode("utf-8", errors="replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    pair = value.split(";", 1)[0]
                    key, _, val = pair.partition("=")
                    self.cookies[key.strip()] = val.strip()
            received = {name.lower(): value for name, value in response.getheaders()}
            return response.status, received, content
        finally:
            conn.close()

    def get(self, path: str, headers: dict | None = None):
        return self.request("GET", path, headers=headers)

    def post(self, path: str, fields: dict, headers: dict | None = None):
        body = urlencode(fields).encode()
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, body=body, headers=sent)

    def csrf_from(self, path: str) -> str:
        """GET a form page and return its CSRF token (the session cookie is kept)."""
        status, _, page = self.get(path)
        assert status == 200, (status, page[:500])
        match = _CSRF.search(page)
        assert match, page[:2000]
        return html.unescape(match.group(1) or match.group(2))


def registration_fields(number: int, token: str, email_address: str | None = None) -> dict:
    return {
        "csrf_token": token,
        "name": f"Persona Prueba {number}",
        "email": email_address or f"persona{number}@example.org",
        "phone": f"+5691{number:07d}",
        "country": "CL",
        "organization": "Caleta de prueba",
        "consent": "y",
    }


def run_parallel(tasks: list, threads: int = 50) -> list:
    """Run callables at once (released together by a barrier); their results in order."""
    results: list = [None] * len(tasks)
    barrier = threading.Barrier(min(threads, len(tasks)))
    lock = threading.Lock()
    queue = list(enumerate(tasks))

    def worker() -> None:
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass
        while True:
            with lock:
                if not queue:
                    return
                index, task = queue.pop()
            try:
                results[index] = task()
            except Exception as error:  # noqa: BLE001 - reported by the caller's assertions
                results[index] = error

    pool = [threading.Thread(target=worker) for _ in range(min(threads, len(tasks)))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results
