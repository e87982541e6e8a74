"""Coordinator exports over HTTP (time, worker peak memory) and certificates in one process."""

from __future__ import annotations

import io
import re
import statistics
import threading
import time
import zipfile
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urlencode, urljoin

from bench import profiling
from bench.loadgen import CSRF_INPUT, VALUE, Client
from bench.servers import Gunicorn, PeakSampler, cpu_of, memory_kb, reset_peak

EXPORT_TARGETS = {"csv": (2.0, 80.0), "xlsx": (6.0, 80.0)}
LOGIN_PATHS = ("/coordinator/login", "/coordinators/login", "/coordinator/", "/login")
HREF = re.compile(r'href="([^"]+)"')
INPUT = re.compile(r"<input[^>]*>")
NAME = re.compile(r'name="([^"]+)"')
TYPE = re.compile(r'type="([^"]+)"')


@dataclass
class ExportResult:
    """One export format: wall times, peak memory growth of the worker, what came back."""

    fmt: str
    seconds: list[float] = field(default_factory=list)
    growth_mb: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    rows: int = 0
    size: int = 0
    status: int = 0
    missing: str | None = None
    method: str = ""
    profile: list[str] = field(default_factory=list)


def login(client: Client, email: str, password: str) -> str | None:
    """Log in through the real form; the path of the login page, or None when there is none."""
    for path in LOGIN_PATHS:
        status, _, body = client.request("GET", path)
        page = body.decode("utf-8", "replace")
        if status != 200 or 'type="password"' not in page:
            continue
        fields: dict[str, str] = {}
        for tag in INPUT.findall(page):
            name, kind = NAME.search(tag), TYPE.search(tag)
            if not name:
                continue
            kind_value = kind.group(1) if kind else "text"
            if kind_value == "password":
                fields[name.group(1)] = password
            elif kind_value == "email" or "email" in name.group(1):
                fields[name.group(1)] = email
            elif kind_value == "hidden":
                value = VALUE.search(tag)
                fields[name.group(1)] = unescape(value.group(1)) if value else ""
        token = CSRF_INPUT.search(page)
        if token:
            fields["csrf_token"] = unescape(VALUE.search(token.group(0)).group(1))
        action = re.search(r'<form[^>]*method="post"[^>]*action="([^"]*)"', page, re.I)
        target = urljoin(path, unescape(action.group(1))) if action and action.group(1) else path
        status, _, _ = client.request(
            "POST",
            target,
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status in (200, 302, 303):
            return path
    return None


def find_export_links(client: Client, start: str, edition_slug: str, limit: int = 30) -> dict:
    """Walk coordinator pages from `start` to the edition's enrollments.csv/.xlsx links."""
    seen, queue, found = set(), [start, "/coordinator/", "/coordinator"], {}
    while queue and len(seen) < limit and len(found) < 2:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        status, headers, body = client.request("GET", path)
        if status != 200 or "html" not in headers.get("content-type", ""):
            continue
        for href in HREF.findall(body.decode("utf-8", "replace")):
            href = unescape(href).split("#")[0]
            url = urljoin(path, href)
            if not url.startswith("/"):
                continue
            bare = url.split("?")[0]
            for fmt in ("csv", "xlsx"):
                # The edition's plain export (no options) when the page offers several.
                if bare.endswith(f"enrollments.{fmt}") and f"/{edition_slug}/" in bare:
                    if fmt not in found or ("?" in found[fmt] and "?" not in url):
                        found[fmt] = url
            is_file = bare.endswith((".csv", ".xlsx", ".pdf"))
            if url.startswith("/coordinator") and "logout" not in url and not is_file:
                queue.append(url)
    return found


def measure_exports(
    server: Gunicorn,
    email: str,
    password: str,
    edition_slug: str,
    rounds: int,
    profile: str = "auto",
    log=print,
) -> list[ExportResult]:
    """Download each export `rounds` times from a 1-worker server; time and memory growth."""
    client = Client(server.url)
    start = login(client, email, password)
    results = [ExportResult("csv"), ExportResult("xlsx")]
    if start is None:
        for result in results:
            result.missing = "n/a (coordinator login missing)"
        return results
    links = find_export_links(client, start, edition_slug)
    (worker,) = server.worker_pids()[:1] or (None,)
    for result in results:
        path = links.get(result.fmt)
        if path is None:
            result.missing = "n/a (endpoint missing)"
            continue
        for index in range(rounds):
            if index and result.seconds[-1] > 2 * EXPORT_TARGETS[result.fmt][0]:
                break  # clearly missed: another download would only add minutes
            before = memory_kb(worker)["VmRSS"]
            exact = reset_peak(worker)
            result.method = "VmHWM after clear_refs" if exact else "VmRSS sampled every 10 ms"
            cpu_before = cpu_of(worker)
            with PeakSampler([] if exact else [worker]) as sampler:
                started = time.perf_counter()
                status, _, body = client.request("GET", path)
                elapsed = time.perf_counter() - started
            peak = memory_kb(worker)["VmHWM"] if exact else sampler.peak[worker]
            result.status, result.size = status, len(body)
            if status != 200:
                result.missing = f"n/a (GET {path} answered {status})"
                break
            result.seconds.append(elapsed)
            result.cpu_seconds.append(cpu_of(worker) - cpu_before)
            result.growth_mb.append(max(0, peak - before) / 1024)
            result.rows = count_rows(result.fmt, body)
            log(
                f"  export {result.fmt}: {elapsed:.2f} s (worker CPU "
                f"{result.cpu_seconds[-1]:.2f} s), +{result.growth_mb[-1]:.1f} MB, "
                f"{result.rows} data rows, {len(body) / 1e6:.1f} MB"
            )
        if result.seconds and _wants_profile(result, profile):
            profile_client = Client(server.url)
            profile_client.cookies = dict(client.cookies)
            result.profile = _profile_export(
                server, profile_client, path, result.fmt, result.seconds[-1]
            )
    return results


def _wants_profile(result: ExportResult, profile: str) -> bool:
    if profile == "auto":
        limit_s, limit_mb = EXPORT_TARGETS[result.fmt]
        return statistics.median(result.seconds) > limit_s or max(result.growth_mb) > limit_mb
    return f"export_{result.fmt}" in profile.split(",")


def _profile_export(
    server: Gunicorn, client: Client, path: str, fmt: str, seconds: float
) -> list[str]:
    """One more download with py-spy on the worker; the summary lines."""
    if not profiling.available():
        return []
    # Sample at most 15 s of the build: enough to see where it goes. The download goes on in
    # the background and the server is stopped right after (see Gunicorn.stop).
    seconds = min(15.0, max(3.0, seconds))
    recorders = profiling.record(server.worker_pids(), seconds, server.workdir, f"export_{fmt}")
    time.sleep(0.3)  # let py-spy attach before the request starts
    threading.Thread(target=client.request, args=("GET", path), daemon=True).start()
    for recorder in recorders:
        try:
            recorder.wait(timeout=seconds + 30)
        except Exception:  # noqa: BLE001 - a stuck profiler must not stop the benchmark
            recorder.kill()
    return profiling.summarise(sorted(server.workdir.glob(f"profile-export_{fmt}-*.txt")))


def count_rows(fmt: str, body: bytes) -> int:
    """Data rows in an export (header excluded), to check all 100,000 came back."""
    if fmt == "csv":
        return max(0, body.count(b"\n") - 1)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        return sum(archive.read(n).count(b"<row") for n in sheets) - len(sheets)


@dataclass
class PdfResult:
    count: int = 0
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    first_cpu_ms: float = 0.0
    missing: str | None = None
    profile: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return 1000 / statistics.mean(self.wall_ms) if self.wall_ms else 0.0


def measure_pdf(app, seconds: float = 4.0, limit: int = 200) -> PdfResult:
    """Render certificates one after the other in this process with `render_pdf`."""
    result = PdfResult()
    try:
        from courses.certificates.documents import render_pdf
        from courses.certificates.models import Certificate
    except ImportError:
        result.missing = "n/a (render_pdf missing)"
        return result
    from sqlalchemy import select

    from courses.extensions import db

    with app.test_request_context("/"):
        certificates = db.session.scalars(select(Certificate).limit(limit)).all()
        if not certificates:
            result.missing = "n/a (no certificates)"
            return result
        cpu = time.process_time()
        try:
            render_pdf(certificates[0])  # the first pays for fonts and imports; reported apart
        except Exception as error:  # noqa: BLE001 - report it instead of losing the whole run
            result.missing = f"n/a (render_pdf failed: {error!r})"
            return result
        result.first_cpu_ms = (time.process_time() - cpu) * 1000
        stop_at = time.perf_counter() + seconds
        for cert in certificates:
            if time.perf_counter() > stop_at:
                break
            cpu, wall = time.process_time(), time.perf_counter()
            data = render_pdf(cert)
            result.cpu_ms.append((time.process_time() - cpu) * 1000)
            result.wall_ms.append((time.perf_counter() - wall) * 1000)
            result.sizes.append(len(data))
        result.count = len(result.cpu_ms)
        if result.cpu_ms and statistics.median(result.cpu_ms) > 15.0:
            result.profile = _profile_pdf(render_pdf, certificates[:20])
    return result


def _profile_pdf(render_pdf, certificates) -> list[str]:
    """pyinstrument over a few renders: the top of the call tree."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return []
    profiler = Profiler(interval=0.0005)
    with profiler:
        for cert in certificates:
            render_pdf(cert)
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    lines = [line for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "render_pdf" in line), 0)
    return lines[start : start + 40]
