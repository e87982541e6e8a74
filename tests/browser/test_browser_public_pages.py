"""Public pages in a phone-sized Chromium: catalogue, privacy, language switch, error pages."""

from __future__ import annotations

import pytest

from tests.browser.browser_support import missing_browser_reason

REASON = missing_browser_reason()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

pytestmark = pytest.mark.browser


def test_catalogue_and_privacy_pass_the_page_checks(browsing):
    browsing.goto("/")
    assert browsing.page.locator("html").get_attribute("lang") == "es"
    browsing.check("catálogo", screenshot="01-catalogo")
    browsing.goto("/privacy")
    browsing.check("privacidad")
    browsing.assert_stayed_local()


def test_switching_to_english_once_shows_english_until_switched_back(browsing):
    page = browsing.page
    browsing.goto("/")
    with page.expect_navigation():
        page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    text = page.locator("body").inner_text()
    assert "Privacy" in text and "Privacidad" not in text, text
    browsing.check("catalogue (English)")
    browsing.goto("/privacy")
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.get_by_role("link", name="Español").click()
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Alianza del Pacífico" in page.locator("body").inner_text()
    browsing.assert_stayed_local()


def test_unknown_page_shows_an_accessible_404(browsing):
    browsing.goto("/no-existe")
    browsing.check("404", status=404, screenshot="99-no-encontrada")
    browsing.assert_stayed_local()


def test_verification_form_and_unknown_codes_pass_the_page_checks(browsing):
    from courses.certificates.codes import check_character, format_code

    page = browsing.page
    browsing.goto("/verify")
    browsing.check("verificar: formulario")
    # A typed code with a wrong character: the form says so next to the field.
    page.locator('input[name="code"]').fill("ABCDE-2345")
    with page.expect_navigation():
        page.locator('main form [type="submit"]').click()
    browsing.check("verificar: código mal escrito", status=400)
    described = page.locator('input[name="code"]').get_attribute("aria-describedby") or ""
    error_ids = [i for i in described.split() if page.locator(f"#{i}.error").count()]
    assert error_ids, f"the error is not tied to the code field: {described!r}"
    # A well-formed code that no certificate has.
    body = "23456789A"
    browsing.goto(f"/verify/{format_code(body + check_character(body))}")
    browsing.check("verificar: código desconocido", status=404)
    browsing.assert_stayed_local()


def test_lost_link_form_with_an_error_and_after_sending(browsing):
    page = browsing.page
    browsing.goto("/my/lost")
    browsing.check("enlace perdido")
    page.locator('input[name="email"]').fill("esto-no-es-un-correo")
    with page.expect_navigation():
        page.locator('main form [type="submit"]').click()
    browsing.check("enlace perdido con error", status=400)
    assert page.locator('input[name="email"]').get_attribute("aria-describedby")
    page.locator('input[name="email"]').fill("nadie@example.org")
    with page.expect_navigation():
        page.locator('main form [type="submit"]').click()
    browsing.check("enlace perdido: enviado")
    browsing.assert_stayed_local()


def test_closed_edition_and_english_pages_pass_the_page_checks(browsing):
    page = browsing.page
    browsing.goto("/courses/pesca-acuicultura/2023/register")
    browsing.check("inscripción cerrada (2023)", status=browsing.shown_response().status)
    assert browsing.shown_response().status in (200, 403, 404, 410)
    browsing.goto("/language/en?next=/courses/pesca-acuicultura")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Fisheries and Aquaculture" in page.locator("h1").inner_text()
    browsing.check("course (English)")
    browsing.goto("/courses/pesca-acuicultura/demo/register")
    browsing.check("registration form (English)")
    with page.expect_navigation():
        page.locator('form:has(input[name="email"]) [type="submit"]').click()
    browsing.check("registration with errors (English)", status=browsing.shown_response().status)
    assert browsing.shown_response().status in (400, 422)
    assert "Registrarme" not in page.locator("main").inner_text()
    browsing.goto("/coordinator/login")
    browsing.check("coordinator login (English)")
    browsing.goto("/does-not-exist")
    browsing.check("404 (English)", status=404)
    browsing.assert_stayed_local()
