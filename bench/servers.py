"""Processes the benchmark runs: gunicorn (the app and the baseline), the delivery worker and
the mail server it delivers to (postfix's smtp-sink when installed, else aiosmtpd)."""

from __future__ import annotations

import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lasting_port() -> int:
    """A free port below the kernel's range for outgoing connections, for a server that is
    restarted on the same port: a port from `free_port` may meanwhile become the local end of
    any outgoing connection on the host, and the new server could not bind it."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for port in random.sample(range(10000, max(10001, low)), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


@dataclass
class Gunicorn:
    """One gunicorn master with sync workers, serving `app` (a WSGI "module:object")."""

    app: str
    env: dict[str, str]
    workdir: Path
    workers: int = 2
    name: str = "app"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where gunicorn writes its error log and (with gunicorn.conf.py) its access log."""
        return self.workdir / f"gunicorn-{self.name}-{self.port}.log"

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def requests_since(self, offset: int) -> int:
        """Requests in the access log after byte `offset` (0 without an access log)."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(offset)
                return len(re.findall(rb'" [1-5]\d\d \d+ ', handle.read()))
        except OSError:
            return 0

    def statuses_since(self, offset: int, method: str, path: str) -> dict[int, int]:
        """Statuses of `method path` in the access log after byte `offset` (server-side count)."""
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
        pattern = re.compile(rf'"{method} {re.escape(path)}(?:\?[^ ]*)? HTTP/[0-9.]+" (\d{{3}}) ')
        counts: dict[int, int] = {}
        for match in pattern.finditer(text):
            code = int(match.group(1))
            counts[code] = counts.get(code, 0) + 1
        return counts

    def start(self, timeout: float = 60.0) -> Gunicorn:
        """Start the server and wait until it answers HTTP."""
        log = open(self.log_path, "ab")  # noqa: SIM115
        # The production settings file (logs, worker recycling) when there is one; the flags
        # after it win, so app and baseline get the same workers, bind and timeout.
        # The baseline gets the same settings without the production post_fork hook (which
        # builds our app in each worker): see bench/gunicorn_baseline.py.
        config_file = ROOT / "gunicorn.conf.py"
        if self.app.startswith("bench.baseline"):
            config_file = ROOT / "bench" / "gunicorn_baseline.py"
        config = ["--config", str(config_file)] if (ROOT / "gunicorn.conf.py").exists() else []
        command = [
            str(VENV_BIN / "gunicorn"),
            *config,
            "--worker-class",
            "sync",
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            # Exports of 100,000 rows and a loaded machine must not hit the 30 s default.
            "--timeout",
            "300",
            "--backlog",
            "2048",
            "--error-logfile",
            "-",
            # For experiments, e.g. BENCH_GUNICORN_ARGS="--preload" (both servers alike).
            *os.environ.get("BENCH_GUNICORN_ARGS", "").split(),
            self.app,
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited; see {log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/__bench_ready__")
                conn.getresponse().read()
                conn.close()
                if len(self.worker_pids()) >= self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.name} did not answer within {timeout:.0f} s")

    def worker_pids(self) -> list[int]:
        """Process ids of the master's workers (its children)."""
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time used so far by the workers, including recycled ones the master reaped."""
        if self.process is None:
            return 0.0
        total = cpu_of(self.process.pid, children=True)
        for pid in self.worker_pids():
            total += cpu_of(pid)
        return total

    def stop(self, grace: float = 30.0) -> None:
        """Stop the master (it stops its workers); after `grace` seconds, kill them all."""
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.worker_pids()
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            # A worker still busy with an abandoned download: end it and its master, by pid.
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.process.kill()
            self.process.wait()


class MailCatcher:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that counts the messages it accepts.

    `delay` seconds are waited before answering each message: 2 s is a slow provider with TLS.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.count = 0
        self.delay = 0.0
        self._lock = threading.Lock()
        self._controller = None
        self._cpu = 0.0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        with self._lock:
            self.count += 1
        return "250 Message accepted for delivery"

    #: How the report names it, and what its cost is on the benchmark's cores.
    description = (
        "aiosmtpd (Python) in the harness process, on the same cores as the app (install "
        "postfix for its C smtp-sink: `apt-get install -y postfix`)"
    )

    def set_delay(self, delay: float, worker: OutboxWorker | None = None) -> None:
        """Answer each message after `delay` seconds from now on (the worker is not touched)."""
        self.delay = delay

    def start(self) -> MailCatcher:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def cpu_seconds(self) -> float:
        """CPU time of the server's event-loop thread so far (Linux: a clock per thread)."""
        thread = getattr(self._controller, "_thread", None)
        if thread is None or thread.ident is None or not thread.is_alive():
            return self._cpu
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, AttributeError):
            return self._cpu

    def summary(self) -> str:
        return _mail_summary(self.description, self.cpu_seconds(), self.count)

    def stop(self) -> None:
        if self._controller is not None:
            self._cpu = self.cpu_seconds()
            self._controller.stop()


class SmtpSink:
    """Postfix's `smtp-sink` on 127.0.0.1: a mail server in C that accepts and counts messages.

    Why not aiosmtpd: in production the mail provider is another machine, but here its stand-in
    shares the two cores with gunicorn and the worker, and aiosmtpd spends 0.56-0.75 ms of CPU
    a message (a fifth of a registration's): the benchmark would charge the app for its test
    server. smtp-sink spends under 0.1 ms.

    Its delay before answering DATA (`-w`, the slow provider) is fixed when it starts, so
    `set_delay` restarts it on the same port, with the worker stopped around the switch
    (SIGTERM: it finishes the message in hand and hands the rest back, still due): no message
    is cut off mid-answer, which would make it wait for a retry time. Its delay is whole
    seconds (`-w` takes no fraction).
    """

    description = "postfix's smtp-sink (C)"

    def __init__(self, workdir: Path, binary: str) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = lasting_port()
        self.delay = 0.0
        self.process: subprocess.Popen | None = None
        self._counted = 0  # messages accepted by the sinks stopped before this one
        self._cpu = 0.0  # and the CPU they used

    @staticmethod
    def find() -> str | None:
        """The smtp-sink program, if postfix is installed (Debian puts it in /usr/sbin)."""
        return shutil.which("smtp-sink") or shutil.which("smtp-sink", path="/usr/sbin:/usr/bin")

    @property
    def output(self) -> Path:
        return self.workdir / f"smtp-sink-{self.port}.out"

    @property
    def count(self) -> int:
        """Messages accepted so far, by this sink and those it replaced."""
        return self._counted + self._own_count()

    def _own_count(self) -> int:
        # `-c` rewrites a line of counters ("sess=1 quit=0 mesg=42", ended by a carriage
        # return) after every message; the last one is the total.
        try:
            with open(self.output, "rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - 200))
                found = re.findall(rb"mesg=(\d+)", handle.read())
        except OSError:
            return 0
        return int(found[-1]) if found else 0

    def start(self, timeout: float = 10.0) -> SmtpSink:
        command = [self.binary, "-c", "-h", "bench-sink"]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # it refuses to run as root otherwise
        if self.delay:
            command += ["-w", f"{self.delay:g}"]
        command += [f"127.0.0.1:{self.port}", "256"]  # 256: the listen backlog
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    text = self.output.read_text()
                    raise RuntimeError(f"smtp-sink did not start: {text}") from None
                time.sleep(0.05)

    def set_delay(self, delay: float, worker: OutboxWorker | None = None) -> None:
        """Answer each DATA after `delay` seconds from now on: a new sink on the same port."""
        if delay != int(delay):
            raise ValueError(f"smtp-sink waits whole seconds only, not {delay}")
        if delay == self.delay:
            return
        if worker is not None:
            worker.stop()
        self.stop()
        self.delay = delay
        self.start()
        if worker is not None:
            worker.start()

    def cpu_seconds(self) -> float:
        """CPU time of this sink and those it replaced."""
        running = self.process is not None and self.process.poll() is None
        return self._cpu + (cpu_of(self.process.pid) if running else 0.0)

    def summary(self) -> str:
        return _mail_summary(self.description, self.cpu_seconds(), self.count)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._cpu = self.cpu_seconds()
            self.process.terminate()
            self.process.wait(timeout=10)
        # Also when it had ended by itself: what it accepted still counts.
        self._counted += self._own_count()
        self.output.unlink(missing_ok=True)
        self.process = None


def _mail_summary(description: str, cpu: float, count: int) -> str:
    """The report's line on the mail server: what it was and what it cost the shared cores."""
    if not count:
        return description
    each = cpu * 1000 / count
    return f"{description}; it used {cpu:.2f} s of CPU for {count:,} messages ({each:.3f} ms each)"


def mail_server(workdir: Path, choice: str = "auto") -> MailCatcher | SmtpSink:
    """The benchmark's mail server: `auto` is smtp-sink when postfix is installed, else aiosmtpd."""
    binary = None if choice == "aiosmtpd" else SmtpSink.find()
    if choice == "smtp-sink" and binary is None:
        raise SystemExit("smtp-sink not found: apt-get install -y postfix")
    return SmtpSink(workdir, binary) if binary else MailCatcher()


@dataclass
class OutboxWorker:
    """The delivery worker (`flask --app wsgi outbox work`) beside the app, as in production."""

    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen | None = None
    _cpu: float = 0.0  # CPU of the workers stopped before this one

    @property
    def log_path(self) -> Path:
        return self.workdir / "outbox-worker.log"

    def start(self, timeout: float = 60.0) -> OutboxWorker:
        # Only this start's lines count: the log of an earlier start already says "started".
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(VENV_BIN / "flask"), "--app", "wsgi", "outbox", "work"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while b"worker: started" not in self.log_path.read_bytes()[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"outbox work did not start: {self.log_path.read_text()}")
            time.sleep(0.1)
        return self

    def cpu_seconds(self) -> float:
        """CPU time of this worker and of those stopped before it (see `SmtpSink.set_delay`)."""
        running = self.process is not None and self.process.poll() is None
        return self._cpu + (cpu_of(self.process.pid) if running else 0.0)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self._cpu = self.cpu_seconds()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of a process (or of its reaped children) from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    # After "pid (comm)": field 14 utime is index 11 here, 15 stime 12, 16 cutime 13, 17 cstime 14.
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / TICKS


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux ≥ 4.0); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class PeakSampler:
    """Fallback when VmHWM cannot be reset: sample VmRSS every 10 ms and keep the maximum."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = {pid: 0 for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                try:
                    self.peak[pid] = max(self.peak[pid], memory_kb(pid)["VmRSS"])
                except (OSError, KeyError):
                    pass
            self._stop.wait(0.01)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
