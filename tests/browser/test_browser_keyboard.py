"""Keyboard only: the registration and login forms can be completed with Tab and Enter."""

from __future__ import annotations

import pytest

from tests.browser.browser_support import missing_browser_reason

REASON = missing_browser_reason()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

from tests.browser.journeys import REGISTER_PATH, keyboard_fill  # noqa: E402

pytestmark = pytest.mark.browser


def test_registration_form_can_be_completed_with_the_keyboard_alone(browsing, mail_catcher):
    page = browsing.page
    browsing.goto(REGISTER_PATH)
    values = {
        "name": "Rosa Elvira Cárdenas",
        "email": "rosa.cardenas@example.org",
        "phone": "+57 300 123 4567",
        "country": "CO",
        "organization": "Cooperativa de Pescadores de Bahía Solano",
        "consent": True,
    }
    order = keyboard_fill(page, values, form='form:has(input[name="email"])')
    # The focus follows the order in which the fields are read.
    assert order == list(values), order
    assert not page.url.split("#")[0].endswith(REGISTER_PATH), "the form was accepted"
    assert "correo" in page.locator("main").inner_text().lower()
    mail_catcher.wait_for(values["email"])
    browsing.assert_stayed_local()


def test_coordinator_login_can_be_completed_with_the_keyboard_alone(browsing, coordinator):
    email, password = coordinator
    page = browsing.page
    browsing.goto("/coordinator/login")
    order = keyboard_fill(
        page, {"email": email, "password": password}, form='form:has(input[name="password"])'
    )
    assert order == ["email", "password"]
    assert "/coordinator/login" not in page.url, page.url
    assert page.get_by_role("button", name="Salir").count() or "/coordinator" in page.url
    browsing.assert_stayed_local()


def test_verification_and_lost_link_forms_work_with_the_keyboard_alone(browsing):
    page = browsing.page
    browsing.goto("/verify")
    keyboard_fill(page, {"code": "ABCDE-2345"}, form='main form:has(input[name="code"])')
    assert "code=ABCDE-2345" in page.url, page.url
    assert page.locator('input[name="code"]').input_value() == "ABCDE-2345"
    browsing.goto("/my/lost")
    keyboard_fill(page, {"email": "nadie@example.org"}, form='main form:has(input[name="email"])')
    assert page.url.endswith("/my/lost")
    assert page.locator(".notice-success").count() == 1
    browsing.assert_stayed_local()
