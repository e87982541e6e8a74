"""Public pages in a phone-sized Chromium: catalogue, privacy, language switch, error pages."""

from __future__ import annotations

import pytest
from browser_support import missing_browser_reason

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
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    text = page.locator("body").inner_text()
    assert "Privacy" in text and "Privacidad" not in text, text
    browsing.check("catalogue (English)")
    browsing.goto("/privacy")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Español").click()
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Alianza del Pacífico" in page.locator("body").inner_text()
    browsing.assert_stayed_local()


def test_unknown_page_shows_an_accessible_404(browsing):
    browsing.goto("/no-existe")
    browsing.check("404", status=404, screenshot="99-no-encontrada")
    browsing.assert_stayed_local()
