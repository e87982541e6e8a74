"""The HTTP load scenarios: which paths, with which data, compared with which baseline."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

from sqlalchemy import create_engine, func, select, text

from bench import profiling
from bench.loadgen import ACCEPT_ENCODING, Client, LoadResult, run_load
from bench.seed import Seeded


@dataclass
class Scenario:
    """One measured thing: GETs over `items`, or POSTs of form bodies to `post_path`."""

    key: str
    label: str
    server: str  # "app" or "baseline"
    items: list[str] = field(default_factory=list)
    post_path: str | None = None
    #: The baseline scenario this one is compared with, and the target ratio (None: info only).
    reference: str | None = None
    target_ratio: float | None = None
    target_p99_ms: float | None = None
    #: Why it cannot run ("n/a (endpoint missing)"), else None.
    missing: str | None = None
    results: list[LoadResult] = field(default_factory=list)
    #: Per-round consistency checks for POSTs: rows stored vs successes, mail, outbox.
    checks: list[dict] = field(default_factory=list)
    #: py-spy summary lines from an extra, unscored run (see bench/profiling.py).
    profile: list[str] = field(default_factory=list)
    #: Seconds the SMTP server takes per message while this scenario runs.
    mail_delay: float = 0.0
    #: Target on the page's size as sent with ACCEPT_ENCODING (None: reported only).
    target_bytes: int | None = None
    #: The first item's body as sent (bytes, Content-Encoding) and uncompressed.
    bytes_sent: int = 0
    encoding: str = ""
    bytes_plain: int = 0

    def cpu_ratios(self, reference: Scenario | None) -> list[float]:
        """Per-round baseline CPU per request / ours: the throughput ratio an idle machine
        would show if both were CPU-bound; robust to other people's load, blind to lock waits."""
        if reference is None or not reference.results:
            return []
        pairs = zip(self.results, reference.results, strict=False)
        return [
            b.cpu_ms_per_request / a.cpu_ms_per_request
            for a, b in pairs
            if a.cpu_ms_per_request and b.cpu_ms_per_request
        ]

    def ratios(self, reference: Scenario | None) -> list[float]:
        """Per-round ratios app/baseline: each app run against the baseline run next to it."""
        if reference is None or not reference.results:
            return []
        pairs = zip(self.results, reference.results, strict=False)
        return [a.rps / b.rps for a, b in pairs if b.rps]

    @property
    def errors(self) -> int:
        return sum(r.server_errors + r.socket_errors + r.count(400, 500) for r in self.results)

    def target_met(self, reference: Scenario | None) -> bool | None:
        """True/False against this scenario's targets; None when it has none or did not run."""
        if not self.results or (self.target_ratio is None and self.target_p99_ms is None):
            return None
        checks = []
        if self.target_ratio is not None:
            ratios = self.ratios(reference)
            checks.append(bool(ratios) and statistics.median(ratios) >= self.target_ratio)
        if self.target_p99_ms is not None:
            p99 = statistics.median(r.p99_ms for r in self.results)
            checks.append(p99 <= self.target_p99_ms and self.errors == 0)
            checks.append(all(c["ok"] for c in self.checks))
        return all(checks)


#: A participant's page on the wire, compressed (issue 15): a few seconds on a slow 3G line.
PAGE_BYTES = 8 * 1024

POST_FIELDS = (
    "name=Benchmark+P%C3%A9rez&email=__E__%40correo.cl&phone=%2B5698__P__&country=CL"
    "&organization=Caleta+Bench&consent=y"
)


def app_scenarios(seeded: Seeded) -> list[Scenario]:
    """The user paths of issue 7, in the order each round runs them."""
    course, edition = seeded.course_slug, seeded.edition_slug
    form = f"/courses/{course}/{edition}/register"
    return [
        Scenario(
            "catalogue", "Catalogue `/`", "app", ["/"], reference="b_form", target_bytes=PAGE_BYTES
        ),
        Scenario(
            "course",
            "Course page",
            "app",
            [f"/courses/{course}"],
            reference="b_form",
            target_ratio=0.7,
            target_bytes=PAGE_BYTES,
        ),
        Scenario(
            "form",
            "Registration form (GET)",
            "app",
            [form],
            reference="b_form",
            target_ratio=0.5,
            target_bytes=PAGE_BYTES,
        ),
        Scenario(
            "register",
            "Registration POST (worker beside gunicorn)",
            "app",
            post_path=form,
            reference="b_insert",
            target_ratio=0.2,
            target_p99_ms=100.0,
        ),
        Scenario(
            "register_slowmail",
            "Registration POST, mail server 2 s per message",
            "app",
            post_path=form,
            reference="register",
            target_ratio=0.9,
            mail_delay=2.0,
        ),
        Scenario(
            "my",
            "Personal page `/my/<token>`",
            "app",
            [f"/my/{t}" for t in seeded.my_tokens],
            reference="b_form",
            target_ratio=0.5,
            target_bytes=PAGE_BYTES,
        ),
        Scenario(
            "verify",
            "Verification `/verify/<code>`",
            "app",
            [f"/verify/{c}" for c in seeded.codes],
            reference="b_form",
            target_bytes=PAGE_BYTES,
        ),
        Scenario(
            "pdf",
            "Certificate PDF",
            "app",
            [f"/my/{t}/certificate.pdf" for t in seeded.certified_tokens],
        ),
    ]


def baseline_scenarios() -> list[Scenario]:
    return [
        Scenario("b_hello", "Bare Flask: short string", "baseline", ["/hello"]),
        Scenario("b_form", "Bare Flask: form + CSRF", "baseline", ["/form"]),
        Scenario("b_insert", "Bare Flask: INSERT (unique)", "baseline", post_path="/insert"),
    ]


def interleave(app: list[Scenario], base: list[Scenario]) -> list[Scenario]:
    """Alternate baseline and app runs so both see the same machine noise."""
    by_key = {s.key: s for s in app + base}
    order = [
        "b_hello",
        "catalogue",
        "b_form",
        "course",
        "form",
        "b_insert",
        "register",
        "register_slowmail",
        "my",
        "verify",
        "pdf",
    ]
    return [by_key[k] for k in order if k in by_key]


def probe(scenarios: list[Scenario], app_url: str) -> None:
    """Mark scenarios whose endpoint is not there yet, instead of failing the whole run."""
    client = Client(app_url)
    for scenario in scenarios:
        if scenario.post_path is None and not scenario.items:
            scenario.missing = "n/a (no data: feature missing)"
            continue
        path = scenario.post_path or scenario.items[0]
        status, token, _ = client.csrf_token(path)
        if status == 404:
            scenario.missing = "n/a (endpoint missing)"
        elif status >= 400:
            scenario.missing = f"n/a (GET {path} answered {status})"
        elif scenario.post_path and token is None:
            scenario.missing = "n/a (form has no CSRF token)"


def measure_bytes(scenarios: list[Scenario], urls: dict[str, str]) -> None:
    """Each GET scenario's first page as sent with ACCEPT_ENCODING, and uncompressed."""
    for scenario in scenarios:
        if scenario.missing or scenario.post_path or not scenario.items:
            continue
        client = Client(urls[scenario.server])
        path = scenario.items[0]
        headers = {"Accept-Encoding": ACCEPT_ENCODING} if ACCEPT_ENCODING else {}
        _status, got, body = client.request("GET", path, headers=headers)
        scenario.bytes_sent, scenario.encoding = len(body), got.get("content-encoding", "")
        scenario.bytes_plain = len(Client(urls[scenario.server]).request("GET", path)[2])


def form_bodies(app_url: str, path: str, count: int) -> list[str]:
    """`count` lines "cookie<TAB>body": each its own session and CSRF token, as a browser."""
    lines = []
    for _ in range(count):
        client = Client(app_url)
        status, token, _ = client.csrf_token(path)
        if token is None:
            raise RuntimeError(f"GET {path} answered {status} without a CSRF token")
        body = f"{POST_FIELDS}&csrf_token={quote_plus(token)}"
        lines.append(f"{client.cookie_header()}\t{body}")
    return lines


class RowCounter:
    """Counts rows in the app's and the baseline's databases around each POST load."""

    def __init__(self, app_url: str, baseline_url: str) -> None:
        self.engines = {"app": create_engine(app_url), "baseline": create_engine(baseline_url)}

    def counts(self, server: str) -> dict[str, int]:
        with self.engines[server].connect() as conn:
            if server == "baseline":
                return {"rows": conn.scalar(text("SELECT count(*) FROM signup"))}
            rows = conn.scalar(select(func.count()).select_from(text("enrollment")))
            outbox = conn.scalar(select(func.count()).select_from(text("outbox_message")))
            return {"rows": rows, "outbox": outbox}

    def settled(self, server: str, timeout: float = 15.0) -> dict[str, int]:
        """Counts once requests still in flight from the last load have finished."""
        counts = self.counts(server)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.3)
            again = self.counts(server)
            if again == counts:
                return counts
            counts = again
        return counts

    def undelivered(self) -> int:
        """The app's outbox messages not yet sent nor given up."""
        with self.engines["app"].connect() as conn:
            return conn.scalar(
                text(
                    "SELECT count(*) FROM outbox_message"
                    " WHERE sent_at IS NULL AND failed_at IS NULL"
                )
            )

    def delivered(self, timeout: float = 600.0) -> tuple[float, int]:
        """Wait until the worker has sent the app's whole outbox: (seconds waited, left over)."""
        started = time.monotonic()
        left = self.undelivered()
        while left and time.monotonic() - started < timeout:
            time.sleep(0.5)
            left = self.undelivered()
        return time.monotonic() - started, left

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()


def run_rounds(
    order: list[Scenario],
    servers: dict,
    counter: RowCounter,
    mail,
    worker,
    *,
    rounds: int,
    duration: float,
    warmup: float,
    connections: int,
    workdir: Path,
    engine: str,
    tag: str,
    log=print,
) -> None:
    """Run every available scenario `rounds` times, in alternation, collecting results."""
    for number in range(1, rounds + 1):
        for scenario in order:
            if scenario.missing:
                continue
            server = servers[scenario.server]
            url = server.url
            mail.set_delay(scenario.mail_delay, worker)
            if number == 1 and warmup > 0:
                run_load(
                    url,
                    scenario.items,
                    duration=warmup,
                    connections=connections,
                    workdir=workdir,
                    post_path=scenario.post_path,
                    run_id=f"w{tag}-{scenario.key}",
                    engine=engine,
                )
            before = counter.settled(scenario.server) if scenario.post_path else None
            mail_before, log_offset, cpu_before = (
                mail.count,
                server.log_size(),
                server.cpu_seconds(),
            )
            delivery_before = (worker.cpu_seconds(), mail.cpu_seconds())
            result = run_load(
                url,
                scenario.items,
                duration=duration,
                connections=connections,
                workdir=workdir,
                post_path=scenario.post_path,
                run_id=f"r{number}{tag}-{scenario.key}",
                engine=engine,
            )
            result.server_cpu = server.cpu_seconds() - cpu_before
            # What delivering the mail cost the same cores meanwhile: the worker, the mail server.
            delivery_cpu = (
                worker.cpu_seconds() - delivery_before[0],
                mail.cpu_seconds() - delivery_before[1],
            )
            result.served = server.requests_since(log_offset)
            scenario.results.append(result)
            if before is not None:
                after = counter.settled(scenario.server)
                delta = {k: after[k] - before[k] for k in after}
                served = server.statuses_since(log_offset, "POST", scenario.post_path)
                check = {
                    "successes": result.successes,
                    **delta,
                    "mail": mail.count - mail_before,
                    "worker_cpu_s": round(delivery_cpu[0], 2),
                    "mail_server_cpu_s": round(delivery_cpu[1], 2),
                    "in_flight_allowance": connections,
                    # What the server answered, from its access log: every request it handled,
                    # including the last few the client stopped waiting for.
                    "served_ok": sum(n for code, n in served.items() if 200 <= code < 400),
                    "served_5xx": sum(n for code, n in served.items() if code >= 500),
                    "served_total": sum(served.values()),
                }
                exact = check["served_total"] > 0
                check["ok"] = (
                    result.successes <= delta["rows"] <= result.successes + connections
                    and (not exact or check["served_ok"] == delta["rows"])
                    and check["served_5xx"] == 0
                    and result.server_errors == 0
                    and result.socket_errors == 0
                    and result.count(400, 500) == 0
                    and delta.get("outbox", delta["rows"]) == delta["rows"]
                )
                scenario.checks.append(check)
                if scenario.mail_delay:
                    # The slow mail server left a backlog: the server is fast again, and the
                    # worker sends it before the next scenario, which would otherwise share
                    # the CPU with that catching up (the personal page, next, did).
                    mail.set_delay(0.0, worker)
                    backlog = counter.undelivered()
                    waited, left = counter.delivered()
                    check["backlog"], check["backlog_seconds"], check["backlog_left"] = (
                        backlog,
                        round(waited, 1),
                        left,
                    )
            log(
                f"  round {number} {scenario.key:10s} {result.rps:8.1f} req/s  "
                f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:7.1f} ms  "
                f"cpu {result.cpu_ms_per_request:5.1f} ms/req  {dict(result.statuses)}"
                + (f"  check {scenario.checks[-1]}" if before is not None else "")
            )


def profile_pass(
    scenarios: list[Scenario],
    wanted: str,
    app_server,
    *,
    duration: float,
    connections: int,
    workdir: Path,
    engine: str,
    tag: str,
    mail=None,
    worker=None,
    log=print,
) -> None:
    """One extra, unscored run per scenario to profile ("auto": those that missed a target),
    with the scenario's mail server (`mail`, slow or not, as in its scored runs)."""
    if wanted in ("", "none") or not profiling.available():
        return
    by_key = {s.key: s for s in scenarios}
    for scenario in scenarios:
        if scenario.server != "app" or scenario.missing or not scenario.results:
            continue
        if wanted == "auto":
            if scenario.target_met(by_key.get(scenario.reference)) is not False:
                continue
        elif scenario.key not in wanted.split(","):
            continue
        if mail is not None:
            mail.set_delay(scenario.mail_delay, worker)
        recorders = profiling.record(app_server.worker_pids(), duration, workdir, scenario.key)
        run_load(app_server.url, scenario.items, duration=duration, connections=connections,
                 workdir=workdir, post_path=scenario.post_path,
                 run_id=f"p{tag}-{scenario.key}", engine=engine)  # fmt: skip
        for recorder in recorders:
            try:
                recorder.wait(timeout=duration + 30)
            except Exception:  # noqa: BLE001 - a stuck profiler must not stop the benchmark
                recorder.kill()
        if mail is not None:
            mail.set_delay(0.0, worker)
        files = sorted(workdir.glob(f"profile-{scenario.key}-*.txt"))
        scenario.profile = profiling.summarise(files)
        log(
            f"  profiled {scenario.key}: "
            + (scenario.profile[1] if len(scenario.profile) > 1 else "")
        )
