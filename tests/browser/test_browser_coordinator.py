"""A coordinator at phone size: log in, see the editions, filter the list, download both exports."""

from __future__ import annotations

import csv
import io
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.browser_support import missing_browser_reason

REASON = missing_browser_reason()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

from openpyxl import load_workbook  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from tests.browser.journeys import COURSE, EDITION, follow, submit  # noqa: E402

pytestmark = pytest.mark.browser

EDITION_PATH = f"/coordinator/{COURSE}/{EDITION}"
#: Links a crawl of the coordinator pages must not follow (files, or pages that change things).
NOT_PAGES = (".csv", ".xlsx", ".toml", ".pdf", ".png", ".zip", "/logout", "/language/")


def download(page, link) -> bytes:
    """Click a link that answers with an attachment and return the file's bytes."""
    href = link.get_attribute("href")
    try:
        with page.expect_download() as info:
            link.click()
    except PlaywrightTimeout:
        answer = page.context.request.get(urljoin(page.url, href))
        raise AssertionError(f"{href}: no download; the server answers {answer.status}") from None
    return info.value.path().read_bytes()


def log_in(browsing, email: str, password: str) -> None:
    page = browsing.page
    browsing.goto("/coordinator/")
    assert "/coordinator/login" in page.url, "the coordinator pages need a login"
    browsing.check("acceso de coordinación")
    page.locator('input[name="email"]').fill(email)
    page.locator('input[name="password"]').fill("no-es-la-clave")
    submit(page, 'main form:has(input[name="password"])')
    browsing.check("acceso de coordinación con error", status=401)
    page.locator('input[name="password"]').fill(password)
    submit(page, 'main form:has(input[name="password"])')
    assert "/coordinator/login" not in page.url, page.locator("main").inner_text()


def test_coordinator_filters_the_list_and_downloads_both_exports(
    browsing, coordinator, registered_person
):
    page = browsing.page
    person = registered_person
    log_in(browsing, *coordinator)
    browsing.check("coordinación: ediciones")

    follow(page, page.locator(f'main a[href$="{EDITION_PATH}/enrollments"]').first)
    browsing.check("lista de inscritos", screenshot="10-lista-inscritos")
    assert person.email in page.locator("main table").inner_text()

    # Filter by country and a piece of the name, as a coordinator looking for one person would.
    page.locator('select[name="country"]').select_option(person.country)
    page.locator('input[name="q"]').fill("Huamán")
    submit(page, 'main form[role="search"]')
    query = urlsplit(page.url).query
    assert f"country={person.country}" in query, page.url
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and person.email in rows.first.inner_text()
    browsing.check("lista filtrada")

    csv_bytes = download(page, page.locator('main a[href*="/enrollments.csv"]').first)
    assert csv_bytes.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    table = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert len(table) == 2, table  # the header and the one person the filter kept
    assert person.email in table[1] and person.name in table[1], table

    xlsx_bytes = download(page, page.locator('main a[href*="/enrollments.xlsx"]').first)
    sheet = load_workbook(io.BytesIO(xlsx_bytes), read_only=True).active
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert len(values) == 2, values
    assert person.email in values[1] and person.name in values[1], values

    follow(page, page.locator(f'main a[href$="{EDITION_PATH}/dashboard"]').first)
    browsing.check("panel de la edición", screenshot="11-panel")

    browsing.assert_stayed_local()


def test_every_coordinator_page_passes_the_page_checks(
    browsing, coordinator, registered_person, certified_people
):
    """Follow every link between coordinator pages (two levels deep) and check each page."""
    page = browsing.page
    email, password = coordinator
    browsing.goto("/coordinator/login")
    page.locator('input[name="email"]').fill(email)
    page.locator('input[name="password"]').fill(password)
    submit(page, 'main form:has(input[name="password"])')
    seen: set[str] = set()
    problems: list[str] = []
    frontier = [urlsplit(page.url).path]
    for _depth in range(3):
        found: list[str] = []
        for path in frontier:
            if path in seen:
                continue
            seen.add(path)
            browsing.goto(path)
            try:
                browsing.check(f"coordinación {path}")
            except AssertionError as problem:  # report every page's problems, not just the first
                problems.append(str(problem))
            for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)"):
                parts = urlsplit(href)
                if (
                    parts.netloc == urlsplit(browsing.checks.base_url).netloc
                    and parts.path.startswith("/coordinator/")
                    and not any(mark in href for mark in NOT_PAGES)
                    and parts.path not in seen
                ):
                    found.append(parts.path)
        frontier = sorted(set(found))
    # An error state: the password form sent with a wrong current password.
    browsing.goto("/coordinator/password")
    form = page.locator('main form:has(input[type="password"])')
    for field in form.locator('input[type="password"]').all():
        field.fill("corta")
    submit(page, 'main form:has(input[type="password"])')
    try:
        browsing.check("cambio de contraseña con errores", status=400)
    except AssertionError as problem:
        problems.append(str(problem))
    assert not problems, "\n".join(problems)
    assert len(seen) >= 5, seen
    browsing.assert_stayed_local()


def test_focal_point_finds_a_person_by_phone_fixes_the_email_and_sends_whatsapp(
    browsing, coordinator, chromium, site_checks, mail_catcher
):
    """Peru's focal point gets a call: finds the fisher by the number as they say it, corrects
    the e-mail (the new address gets the link) and sends the link over WhatsApp."""
    from tests.browser.journeys import REGISTER_PATH, Person, fill_registration

    person = Person(
        name="Rosa Elvira Quispe Mamani",
        email="rosa.quispe@correo-paita.pe",
        phone="+51 987 123 456",
        country="PE",
        organization="Asociación de Pescadores de Paita",
    )
    page = browsing.page
    browsing.goto(REGISTER_PATH)
    fill_registration(page, person)
    submit(page, 'form:has(input[name="email"])')
    mail_catcher.wait_for(person.email)

    log_in(browsing, "punto.focal.pe@example.org", "punto-focal-peru-2023")
    browsing.goto(f"{EDITION_PATH}/enrollments")
    page.locator('input[name="q"]').fill("987 123 456")
    submit(page, 'main form[role="search"]')
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and person.email in rows.first.inner_text()
    browsing.check("lista buscada por teléfono")

    follow(page, rows.first.locator("a").first)
    browsing.check("ficha de la persona", screenshot="12-ficha")
    page.locator('input[name="email"]').fill("rosa.quispe.mamani@correo-paita.pe")
    submit(page, 'main form:has(input[name="organization"])')
    assert "Datos corregidos" in page.locator("main").inner_text()
    assert page.locator('input[name="email"]').input_value() == "rosa.quispe.mamani@correo-paita.pe"
    mail_catcher.wait_for("rosa.quispe.mamani@correo-paita.pe")

    submit(page, 'main form[action$="/whatsapp"]')
    browsing.check("enviar por whatsapp")
    href = page.locator('main a[href^="https://wa.me/"]').get_attribute("href")
    assert href.startswith("https://wa.me/51987123456?text="), href
    assert "%2Fmy%2F" in href or "/my/" in href, href
    browsing.assert_stayed_local()
