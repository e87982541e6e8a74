"""Load generators: wrk with a Lua script when installed, else a Python client (threads)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "bench.lua"
#: Sent with every request, as Chrome on Android does: the app compresses, the bare baseline
#: ignores it. BENCH_ACCEPT_ENCODING="" measures uncompressed pages instead.
ACCEPT_ENCODING = os.environ.get("BENCH_ACCEPT_ENCODING", "gzip, deflate, br")


@dataclass
class LoadResult:
    """What one timed run of one scenario produced."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: int = 0
    #: CPU seconds the server's workers used during the run (and its drain), if known.
    server_cpu: float = 0.0
    #: Requests the server handled in that time (its access log), else the client's count.
    served: int = 0

    @property
    def cpu_ms_per_request(self) -> float:
        count = self.served or self.requests
        return self.server_cpu / count * 1000 if count and self.server_cpu else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, low: int, high: int) -> int:
        """Responses with a status in [low, high)."""
        return sum(n for code, n in self.statuses.items() if low <= code < high)

    @property
    def successes(self) -> int:
        return self.count(200, 400)

    @property
    def server_errors(self) -> int:
        return self.count(500, 600)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_load(
    base_url: str,
    items: list[str],
    *,
    duration: float,
    connections: int,
    workdir: Path,
    post_path: str | None = None,
    run_id: str = "x",
    engine: str = "auto",
) -> LoadResult:
    """Drive `base_url` for `duration` seconds: GET `items` (paths) or POST to `post_path`."""
    if engine == "auto":
        engine = "wrk" if have_wrk() else "python"
    if engine == "wrk":
        result = _run_wrk(base_url, items, duration, connections, workdir, post_path, run_id)
    else:
        result = _run_python(base_url, items, duration, connections, post_path, run_id)
    drain(base_url)
    return result


def drain(base_url: str, timeout: float = 120.0) -> float:
    """Wait until requests a load generator left in flight are done; seconds waited.

    A client that stops after `duration` abandons its last requests, but the server still
    handles them: without this wait the next run would start behind a queue of slow work.
    """
    parts = urlsplit(base_url)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        sent = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
            conn.request("GET", "/__bench_ready__")
            conn.getresponse().read()
            conn.close()
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
            continue
        if time.perf_counter() - sent < 0.05:
            break
    return time.monotonic() - started


def _run_wrk(base_url, items, duration, connections, workdir, post_path, run_id) -> LoadResult:
    items_file = workdir / f"items-{run_id}.txt"
    items_file.write_text("\n".join(items) + "\n")
    args = (
        ["post", str(items_file), post_path, run_id, ACCEPT_ENCODING]
        if post_path
        else ["paths", str(items_file), ACCEPT_ENCODING]
    )
    command = [
        "wrk",
        "--latency",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA_SCRIPT),
        base_url,
        "--",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    output = done.stdout
    line = next((x for x in output.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = data["errors"]
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        statuses={int(code): n for code, n in data["statuses"].items()},
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
    )


def _run_python(base_url, items, duration, connections, post_path, run_id) -> LoadResult:
    """The fallback: one thread per connection, http.client, reconnecting when told to close."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    stop_at = time.monotonic() + duration
    encoding = {"Accept-Encoding": ACCEPT_ENCODING} if ACCEPT_ENCODING else {}

    def worker(tid: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine: list[float] = []
        codes: dict[int, int] = {}
        index = tid * len(items) // 8
        counter = 0
        while time.monotonic() < stop_at:
            index += 1
            item = items[index % len(items)]
            started = time.perf_counter()
            try:
                if post_path:
                    counter += 1
                    cookie, body = item.split("\t", 1)
                    unique = f"{run_id}-t{tid}-{counter}"
                    digits = f"{tid % 10}{counter % 1000000:06d}"
                    body = body.replace("__E__", unique).replace("__P__", digits)
                    headers = {
                        "Cookie": cookie,
                        "Content-Type": "application/x-www-form-urlencoded",
                        **encoding,
                    }
                    conn.request("POST", post_path, body=body.encode(), headers=headers)
                else:
                    conn.request("GET", item, headers=encoding)
                response = conn.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    latencies.sort()

    def percentile(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000

    return LoadResult(
        requests=len(latencies),
        seconds=seconds,
        p50_ms=percentile(50),
        p99_ms=percentile(99),
        statuses=statuses,
        socket_errors=errors[0],
    )


CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


class Client:
    """A tiny cookie-keeping HTTP client for set-up steps (tokens, logins, downloads)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def csrf_token(self, path: str) -> tuple[int, str | None, bytes]:
        """GET a page; its status, the CSRF token in its form (if any) and the body."""
        status, _, body = self.request("GET", path)
        match = CSRF_INPUT.search(body.decode("utf-8", "replace"))
        token = VALUE.search(match.group(0)).group(1) if match else None
        return status, token, body
