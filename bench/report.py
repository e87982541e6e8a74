"""The report: one Markdown table per database, targets as ratios to the same-run baseline."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from importlib import metadata
from pathlib import Path

from bench.exports import EXPORT_TARGETS, ExportResult, PdfResult
from bench.scenarios import Scenario

ROOT = Path(__file__).resolve().parent.parent
PDF_CPU_MS, PDF_KB = 15.0, 60.0


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """ "median (min–max)" of a few rounds."""
    if not values:
        return "–"
    median = fmt.format(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**MISSED**")


def load_table(scenarios: list[Scenario]) -> list[str]:
    by_key = {s.key: s for s in scenarios}
    lines = [
        "| Scenario | req/s median (min–max) | p50 ms | p99 ms | errors | worker CPU ms/req "
        "| vs | ratio median (min–max) | CPU ratio | target | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scenarios:
        if s.missing or not s.results:
            lines.append(f"| {s.label} | {s.missing or 'not run'} | | | | | | | | | n/a |")
            continue
        ref = by_key.get(s.reference) if s.reference else None
        rs = s.ratios(ref)
        errors = s.errors
        targets = []
        if s.target_ratio is not None:
            targets.append(f"≥ {s.target_ratio}×")
        if s.target_p99_ms is not None:
            targets.append(f"p99 ≤ {s.target_p99_ms:.0f} ms, 0 errors")
        ok = s.target_met(ref)
        lines.append(
            f"| {s.label} | {spread([r.rps for r in s.results])} "
            f"| {spread([r.p50_ms for r in s.results], '{:.1f}')} "
            f"| {spread([r.p99_ms for r in s.results], '{:.1f}')} | {errors} "
            f"| {spread([r.cpu_ms_per_request for r in s.results], '{:.1f}')} "
            f"| {ref.label if ref else ''} | {spread(rs, '{:.2f}')} "
            f"| {spread(s.cpu_ratios(ref), '{:.2f}')} "
            f"| {', '.join(targets)} | {verdict(ok)} |"
        )
    return lines


def bytes_table(scenarios: list[Scenario], accept_encoding: str) -> list[str]:
    """Each page's size as sent (with the browser's Accept-Encoding) and uncompressed."""
    rows = [s for s in scenarios if s.bytes_sent]
    if not rows:
        return []
    lines = [
        f"Bytes of each page as sent (first item; request header `Accept-Encoding: "
        f"{accept_encoding}`; the load above sent the same header):",
        "",
        "| Page | as sent | Content-Encoding | uncompressed | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for s in rows:
        target = f"≤ {s.target_bytes / 1024:.0f} KB" if s.target_bytes else ""
        ok = s.bytes_sent <= s.target_bytes if s.target_bytes else None
        lines.append(
            f"| {s.label} | {s.bytes_sent:,} | {s.encoding or 'none'} | {s.bytes_plain:,} "
            f"| {target} | {verdict(ok)} |"
        )
    return lines


def checks_section(scenarios: list[Scenario]) -> list[str]:
    lines = []
    for s in scenarios:
        for number, check in enumerate(s.checks, 1):
            extra = ""
            if "outbox" in check:
                extra = f", outbox +{check['outbox']}, mail delivered {check['mail']}"
                if check.get("worker_cpu_s") is not None:
                    extra += (
                        f" (CPU meanwhile: the worker {check['worker_cpu_s']} s, the mail "
                        f"server {check['mail_server_cpu_s']} s)"
                    )
            if "backlog" in check:
                extra += (
                    f"; then, the mail server fast again, the backlog of {check['backlog']} "
                    f"went out in {check['backlog_seconds']} s ({check['backlog_left']} left)"
                )
            served = ""
            if check.get("served_total"):
                served = (
                    f"; the server's access log: {check['served_ok']} successes, "
                    f"{check['served_5xx']} 5xx"
                )
            lines.append(
                f"- {s.label}, round {number}: client counted {check['successes']} successes"
                f"{served}; +{check['rows']} rows{extra} → "
                f"{'ok' if check['ok'] else '**MISMATCH**'}"
            )
    return lines


def profile_section(scenarios: list[Scenario]) -> list[str]:
    lines = []
    for s in scenarios:
        if s.profile:
            lines += [f"Profile of {s.label} (py-spy, both workers, one extra unscored run):", "",
                      "```", *s.profile, "```", ""]  # fmt: skip
    return lines


def export_table(exports: list[ExportResult]) -> list[str]:
    lines = [
        "| Export | seconds median (min–max) | worker CPU s | worker peak growth MB | rows "
        "| size MB | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in exports:
        limit_s, limit_mb = EXPORT_TARGETS[e.fmt]
        target = f"≤ {limit_s:.0f} s, ≤ {limit_mb:.0f} MB"
        if e.missing or not e.seconds:
            lines.append(f"| {e.fmt.upper()} | {e.missing or 'not run'} | | | | {target} | n/a |")
            continue
        ok = statistics.median(e.seconds) <= limit_s and max(e.growth_mb) <= limit_mb
        lines.append(
            f"| {e.fmt.upper()} | {spread(e.seconds, '{:.2f}')} "
            f"| {spread(e.cpu_seconds, '{:.2f}')} | {spread(e.growth_mb, '{:.1f}')} "
            f"| {e.rows} | {e.size / 1e6:.1f} | {target} | {verdict(ok)} |"
        )
    return lines


def pdf_lines(pdf: PdfResult | None) -> list[str]:
    if pdf is None:
        return []
    if pdf.missing or not pdf.cpu_ms:
        return [f"- Certificates in one process: {pdf.missing or 'not run'}"]
    cpu = statistics.median(pdf.cpu_ms)
    size_kb = max(pdf.sizes) / 1024
    ok = cpu <= PDF_CPU_MS and size_kb <= PDF_KB
    return [
        f"- Certificates rendered in one process with `render_pdf`: {pdf.count}, "
        f"**{pdf.per_second:.1f} per second**; CPU per certificate median {cpu:.1f} ms "
        f"(p90 {sorted(pdf.cpu_ms)[int(len(pdf.cpu_ms) * 0.9)]:.1f} ms; the first one "
        f"{pdf.first_cpu_ms:.0f} ms with fonts and imports); size {min(pdf.sizes) / 1024:.1f}–"
        f"{size_kb:.1f} KB. Target ≤ {PDF_CPU_MS:.0f} ms CPU and ≤ {PDF_KB:.0f} KB: {verdict(ok)}."
    ] + (
        ["", "Profile of 20 renders (pyinstrument):", "", "```", *pdf.profile, "```"]
        if pdf.profile
        else []
    )


def machine_lines(settings: dict) -> list[str]:
    """Machine, versions and settings, so a reader can tell whose numbers these are."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    packages = ("Flask", "Werkzeug", "Jinja2", "SQLAlchemy", "gunicorn", "Flask-WTF",
                "reportlab", "fpdf2", "openpyxl")  # fmt: skip
    versions = ", ".join(f"{p} {_version(p)}" for p in packages if _version(p) != "?")
    wrk = _run(["wrk", "--version"]).splitlines()[:1] if settings.get("engine") == "wrk" else []
    commit = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).strip()
    if _run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]).strip():
        commit += " plus uncommitted changes in the working tree"
    return [
        f"- Machine: {os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}; load average at start "
        f"{settings['load_start']}, at end {settings['load_end']} (a shared machine: other "
        "processes ran during the benchmark).",
        f"- Python {platform.python_version()}; {versions}; load generator: "
        f"{settings['engine']} {' '.join(wrk)}".rstrip(),
        f"- Commit {commit}; {settings['rounds']} rounds × {settings['duration']:g} s per scenario "
        f"(+{settings['warmup']:g} s warm-up in round 1), {settings['connections']} connections, "
        f"gunicorn sync workers: {settings['workers']} (exports: 1), "
        f"{settings['enrollments']:,} enrollments; rate limits off (RATELIMIT_ENABLED=0); "
        f"every request sends `Accept-Encoding: {settings.get('accept_encoding') or '(none)'}`.",
        f"- Mail server the worker delivers to: {settings.get('mail_server', 'aiosmtpd')}.",
        f"- Reproduce: `{settings['command']}`",
    ]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _run(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return result.stdout + result.stderr
    except OSError:
        return ""


def render(settings: dict, runs: list[dict], pdf: PdfResult | None, took: float) -> str:
    """The whole report in Markdown."""
    lines = [f"# Benchmark run of {settings['started']}", "", *machine_lines(settings), ""]
    for run in runs:
        lines += [f"## {run['database']}", "", *load_table(run["scenarios"]), ""]
        sizes = bytes_table(run["scenarios"], settings.get("accept_encoding", ""))
        if sizes:
            lines += [*sizes, ""]
        checks = checks_section(run["scenarios"])
        if checks:
            lines += [
                "POST consistency: rows added must equal the successes in the server's access "
                "log, and exceed the client's count by at most the number of connections "
                "(requests still in flight when the client stopped counting):",
                "",
                *checks,
                "",
            ]
        lines += profile_section(run["scenarios"])
        if run.get("exports"):
            lines += [*export_table(run["exports"]), ""]
            methods = {e.method for e in run["exports"] if e.method}
            if methods:
                lines += [
                    f"Peak memory: the worker's {', '.join(methods)}, "
                    "minus its RSS before the request.",
                    "",
                ]
        for e in run.get("exports", []):
            if e.profile:
                lines += [f"Profile of the {e.fmt.upper()} export (py-spy, one extra download):",
                          "", "```", *e.profile, "```", ""]  # fmt: skip
        for note in run.get("notes", []):
            lines.append(f"- Note: {note}")
        lines.append("")
    lines += [
        "## Certificates",
        "",
        *pdf_lines(pdf),
        "",
        f"Whole run: {took / 60:.1f} minutes.",
        "",
    ]
    return "\n".join(lines)
