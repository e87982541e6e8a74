"""Browser test fixtures: one live server, one mail catcher and one Chromium per session."""

from __future__ import annotations

import glob
import secrets
from collections.abc import Iterator

import pytest

from tests.browser.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    ROOT,
    Browsing,
    LiveServer,
    MailCatcher,
    SiteChecks,
    free_port,
    run_vnu,
)

COORDINATOR_EMAIL = "coordinacion@example.org"
COORDINATOR_PASSWORD = "pesca-artesanal-2023"


@pytest.fixture(scope="session")
def mail_catcher() -> Iterator[MailCatcher]:
    """A real SMTP server on 127.0.0.1 that keeps every message the app sends."""
    from aiosmtpd.controller import Controller

    catcher = MailCatcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=free_port())
    controller.start()
    catcher.port = controller.port
    yield catcher
    controller.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, mail_catcher) -> Iterator[LiveServer]:
    """The app in development mode as its own process, with a fresh SQLite database."""
    import os

    workdir = tmp_path_factory.mktemp("live")
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("FLASK_", "COURSES_", "MAIL_", "DATABASE_", "TEST_DATABASE", "GUNICORN_", "RATELIMIT_")
        )
        and key not in ("SECRET_KEY", "PUBLIC_BASE_URL", "TRUSTED_PROXIES", "WEB_CONCURRENCY")
    }
    env.update(
        COURSES_CONFIG="development",
        DATABASE_URL=f"sqlite:///{workdir / 'courses.sqlite3'}",
        SECRET_KEY=secrets.token_hex(24),
        PUBLIC_BASE_URL=url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(mail_catcher.port),
        # One browser on one address registers several people; the limits have their own tests.
        RATELIMIT_ENABLED="0",
        PYTHONUNBUFFERED="1",
    )
    server = LiveServer(url=url, env=env, log_path=workdir / "server.log")
    server.flask("db", "upgrade")
    server.flask("courses", "load", *sorted(glob.glob(str(ROOT / "courses/catalog/*.toml"))))
    server.flask("courses", "demo")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def coordinator(live_server) -> tuple[str, str]:
    """An admin coordinator's e-mail and password (created once, password given on stdin)."""
    live_server.flask(
        "coordinators",
        "create",
        COORDINATOR_EMAIL,
        "--role",
        "admin",
        stdin=COORDINATOR_PASSWORD + "\n",
    )
    # A second account, so the admin's pages show rows with actions (not only their own).
    live_server.flask(
        "coordinators",
        "create",
        "punto.focal.pe@example.org",
        "--role",
        "country",
        "--country",
        "PE",
        stdin="punto-focal-peru-2023\n",
    )
    return COORDINATOR_EMAIL, COORDINATOR_PASSWORD


@pytest.fixture(scope="session")
def site_checks(live_server) -> SiteChecks:
    """What every page must satisfy, and the pages each browser context showed."""
    return SiteChecks(base_url=live_server.url)


@pytest.fixture(autouse=True)
def server_logs_no_error(request) -> Iterator[None]:
    """After each test that used the live server: nothing it (or a session fixture set up for
    it) asked made the server log a traceback or answer 500. Each test reads the log from where
    the previous one stopped, so the check holds in any order and for a test run alone."""
    yield
    if "live_server" not in request.fixturenames:
        return
    server = request.getfixturevalue("live_server")
    new = server.read_new_log()
    assert "Traceback" not in new, server.log_tail(120)
    assert '" 500 ' not in new, server.log_tail(120)


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _browsing(chromium, site_checks, tmp_path, *, javascript: bool) -> Iterator[Browsing]:
    context = chromium.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=javascript,
        accept_downloads=True,
        locale="es-CL",
    )
    context.set_default_timeout(10_000)
    first = len(site_checks.pages)
    try:
        yield Browsing(context, site_checks, javascript=javascript)
    finally:
        context.close()
    # Every page this context showed is valid HTML (the Nu Html Checker, one JVM per test).
    shown = site_checks.pages[first:]
    if shown:
        errors = run_vnu(shown, tmp_path / "vnu")
        names = ", ".join(sorted({page.name for page in shown}))
        assert not errors, "Nu Html Checker errors:\n" + "\n".join(errors) + f"\n({names})"


@pytest.fixture
def browsing(chromium, site_checks, tmp_path) -> Iterator[Browsing]:
    """A fresh phone-sized browser context (own cookies), scripts on."""
    yield from _browsing(chromium, site_checks, tmp_path, javascript=True)


@pytest.fixture
def browsing_without_js(chromium, site_checks, tmp_path) -> Iterator[Browsing]:
    """A fresh phone-sized browser context with JavaScript disabled."""
    yield from _browsing(chromium, site_checks, tmp_path, javascript=False)


@pytest.fixture(scope="session")
def registered_person(chromium, site_checks, mail_catcher):
    """Someone registered in the demo edition through the form (for the coordinator's list)."""
    from tests.browser.journeys import REGISTER_PATH, Person, fill_registration, submit

    person = Person(
        name="Juan Carlos Huamán Ccori",
        email="juan.huaman@example.org",
        phone="+51 912 345 678",
        country="PE",
        organization="Gremio de Pescadores de Pucusana",
    )
    context = chromium.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(site_checks.base_url + REGISTER_PATH)
        fill_registration(page, person)
        submit(page, 'form:has(input[name="email"])')
        assert not page.url.split("#")[0].endswith(REGISTER_PATH), page.locator("main").inner_text()
    finally:
        context.close()
    mail_catcher.wait_for(person.email)
    return person


@pytest.fixture(scope="session")
def certified_people(chromium, site_checks, mail_catcher) -> list:
    """Two people who completed the demo course (for the coordinator's certificate pages)."""
    from tests.browser.journeys import (
        MODULES,
        REGISTER_PATH,
        Person,
        fill_registration,
        personal_link_from_mail,
        submit,
    )

    people = [
        Person(
            "Ana Lucía Torres Véliz",
            "ana.torres@example.org",
            "+52 55 1234 5678",
            "MX",
            "Cooperativa Pesquera de Alvarado",
        ),
        Person(
            "Pedro Pablo Caicedo",
            "pedro.caicedo@example.org",
            "+57 310 765 4321",
            "CO",
            "Asociación de Piangueras de Tumaco",
        ),
    ]
    context = chromium.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        for person in people:
            page.goto(site_checks.base_url + REGISTER_PATH)
            fill_registration(page, person)
            submit(page, 'form:has(input[name="email"])')
            link = personal_link_from_mail(site_checks.base_url, mail_catcher, person)
            for number in range(1, MODULES + 1):
                page.goto(f"{link}/modules/{number}")
                submit(page, 'main form[action$="/complete"]')
            page.goto(link)
            assert page.locator('main a[href$="/certificate.pdf"]').count(), person.email
    finally:
        context.close()
    return people
