"""What the browser tests share: Chromium, the live server, the mail catcher, page checks.

Everything here is real: the app runs as its own gunicorn process on 127.0.0.1, its mail goes over
SMTP to an aiosmtpd server in this process, and pages are driven in Debian's Chromium.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
#: Where screenshots go; `make screenshots` points this at docs/screenshots.
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "test-artifacts" / "screenshots"))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 640}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: A page's own HTML plus its stylesheets must stay under this (phones on paid data).
PAGE_BUDGET = 30 * 1024
SERVER_START_SECONDS = 30.0


def missing_browser_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (requirements-dev.txt)"
    if not AXE_JS.exists() or not VNU_JAR.exists():
        return "axe-core / vnu-jar missing under node_modules (run `npm ci`; .ci/run does)"
    if shutil.which("java") is None:
        return "Java not found (the Nu Html Checker needs it)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Mail --------------------------------------------------------------------------------------


class MailCatcher:
    """An aiosmtpd handler that keeps every message it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self._lock.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        """The messages sent to `recipient`, waiting until there are at least `count`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [m for m in self.messages if recipient in str(m["To"])]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no e-mail #{count} for {recipient} within {timeout}s; "
                        f"caught: {[(str(m['To']), str(m['Subject'])) for m in self.messages]}"
                    )
                self._lock.wait(left)


def text_body(message: EmailMessage) -> str:
    """The plain-text part of a message."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, f"no text/plain part in {message['Subject']!r}"
    return part.get_content()


# --- The live server ---------------------------------------------------------------------------


@dataclass
class LiveServer:
    """The app as a real gunicorn process, with its environment and log."""

    url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    #: The delivery worker (`outbox work`) beside the web server, as `make run` starts it.
    worker: subprocess.Popen | None = None
    #: How far the per-test error check has read the log.
    log_checked: int = 0

    def flask(self, *args: str, stdin: str | None = None) -> str:
        """Run `flask --app wsgi ARGS` against the server's database; fail loudly."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"flask {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def start(self) -> None:
        """Start gunicorn and wait until the catalogue answers."""
        host_port = self.url.removeprefix("http://")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    host_port,
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--access-logfile",
                    "-",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not answer within {SERVER_START_SECONDS}s")

    def stop(self) -> None:
        for process in (self.worker, self.process):
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def read_new_log(self) -> str:
        """What the server logged since the last call (the log is only ever appended to)."""
        with self.log_path.open("rb") as log:
            log.seek(self.log_checked)
            new = log.read()
        self.log_checked += len(new)
        return new.decode(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# --- Page checks -------------------------------------------------------------------------------


@dataclass
class CheckedPage:
    """One page as the server sent it, kept for the HTML validation when its test ends."""

    name: str
    url: str
    html: bytes


@dataclass
class SiteChecks:
    """What every page must satisfy, and each page shown (validated when its test ends)."""

    base_url: str
    pages: list[CheckedPage] = field(default_factory=list)
    stylesheet_sizes: dict[str, int] = field(default_factory=dict)

    def stylesheet_size(self, url: str) -> int:
        if url not in self.stylesheet_sizes:
            with urllib.request.urlopen(url, timeout=5) as response:
                self.stylesheet_sizes[url] = len(response.read())
        return self.stylesheet_sizes[url]

    def keep(self, name: str, url: str, html: bytes) -> None:
        self.pages.append(CheckedPage(name, url, html))


def is_local(url: str) -> bool:
    """Whether a request stays on this machine's loopback (data: and about: never leave it)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "about", "blob"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


class Browsing:
    """A browser context that records every request and the raw HTML of each page it shows."""

    def __init__(self, context, checks: SiteChecks, *, javascript: bool = True) -> None:
        self.context = context
        self.checks = checks
        self.javascript = javascript
        self.requests: list[str] = []
        self.offsite: list[str] = []
        self.console_problems: list[str] = []
        self.documents: list = []
        context.on("request", self._on_request)
        # Nothing may leave the machine even if a page asks for it: such requests are refused
        # here (and recorded above), so a test run never sends traffic anywhere else.
        context.route("**/*", self._route)
        self.page = context.new_page()
        self.page.on("response", self._on_response)
        self.page.on("console", self._on_console)

    def _on_request(self, request) -> None:
        self.requests.append(request.url)
        if not is_local(request.url):
            self.offsite.append(request.url)

    def _route(self, route) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            route.abort()

    def _on_response(self, response) -> None:
        if response.request.resource_type == "document" and response.frame == self.page.main_frame:
            self.documents.append(response)

    def _on_console(self, message) -> None:
        text = message.text
        # Chromium reports CSP refusals (inline style="" or <script>) on the console.
        if "Content Security Policy" in text or "Refused to" in text:
            self.console_problems.append(f"{self.page.url}: {text}")

    def goto(self, path: str):
        response = self.page.goto(self.checks.base_url + path)
        assert response is not None
        return response

    def shown_response(self):
        """The server's response for the page now shown (the last one, after any redirect)."""
        here = self.page.url.split("#")[0]
        for response in reversed(self.documents):
            if response.url.split("#")[0] == here and not 300 <= response.status < 400:
                return response
        raise AssertionError(f"no document response recorded for {self.page.url}")

    def check(self, name: str, *, status: int = 200, screenshot: str | None = None) -> None:
        """Check the page now shown: status, size budget, axe (WCAG 2.1 A+AA); keep it for vnu."""
        page = self.page
        response = self.shown_response()
        assert response.status == status, f"{name} ({page.url}): {response.status} ≠ {status}"
        html = response.body()
        hrefs = page.eval_on_selector_all("link[rel=stylesheet]", "ls => ls.map(l => l.href)")
        css = sum(self.checks.stylesheet_size(href) for href in hrefs)
        total = len(html) + css
        assert total < PAGE_BUDGET, (
            f"{name} ({page.url}): HTML {len(html)} B + CSS {css} B = {total} B ≥ {PAGE_BUDGET} B"
        )
        self.checks.keep(name, page.url, html)
        if screenshot:  # before axe, so a failing page still leaves its picture for the report
            save_screenshot(page.screenshot(), SCREENSHOT_DIR / f"{screenshot}.png")
        if self.javascript:
            violations = run_axe(page)
            assert not violations, f"axe on {name} ({page.url}):\n" + "\n".join(violations)

    def assert_stayed_local(self) -> None:
        assert self.requests, "no request was recorded at all"
        assert not self.offsite, f"requests left 127.0.0.1: {self.offsite}"
        assert not self.console_problems, "CSP refusals:\n" + "\n".join(self.console_problems)


def save_screenshot(png: bytes, path: Path) -> None:
    """Save a screenshot as a small palette PNG (a phone screen needs few colours)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


_AXE_SOURCE: str | None = None


def run_axe(page) -> list[str]:
    """Run axe-core with the WCAG 2.0/2.1 A and AA rules; one line per failing element."""
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = AXE_JS.read_text()
    # page.evaluate goes through the DevTools protocol, which the page's CSP does not govern,
    # so the checks run against the real policy instead of a relaxed one.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_AXE_SOURCE + "\n;0")
    results = page.evaluate(
        """async tags => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return r.violations.map(v => ({id: v.id, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }""",
        AXE_TAGS,
    )
    lines = []
    for violation in results:
        for node in violation["nodes"]:
            lines.append(f"  [{violation['id']}] {violation['help']}: {node}")
    return lines


def run_vnu(pages: list[CheckedPage], workdir: Path) -> list[str]:
    """Validate every kept page with the Nu Html Checker in one JVM; one line per error."""
    workdir.mkdir(parents=True, exist_ok=True)
    names: dict[str, CheckedPage] = {}
    for number, kept in enumerate(pages):
        path = workdir / f"page-{number:03d}.html"
        path.write_bytes(kept.html)
        names[path.name] = kept
    result = subprocess.run(
        [
            "java",
            "-Xss4m",
            "-jar",
            str(VNU_JAR),
            "--stdout",
            "--format",
            "json",
            "--exit-zero-always",
            *sorted(str(p) for p in workdir.glob("page-*.html")),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = json.loads(result.stdout or "{}")
    errors = []
    for message in report.get("messages", []):
        if message.get("type") != "error":
            continue
        kept = names.get(message.get("url", "").rsplit("/", 1)[-1])
        where = f"{kept.name} ({kept.url})" if kept else message.get("url", "?")
        errors.append(
            f"  {where} line {message.get('lastLine')}: {message.get('message')} "
            f"[{(message.get('extract') or '').strip()[:120]}]"
        )
    return errors
