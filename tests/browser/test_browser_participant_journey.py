"""The participant's whole journey at 360×640, with JavaScript on and off."""

from __future__ import annotations

import pytest

from tests.browser.browser_support import missing_browser_reason

REASON = missing_browser_reason()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

from tests.browser.journeys import Person, participant_journey  # noqa: E402 - only once the browser is there

pytestmark = pytest.mark.browser


def test_participant_registers_completes_and_verifies_at_phone_size(browsing, mail_catcher):
    person = Person(
        name="María José Pérez Quiñones",
        email="maria.perez@example.org",
        phone="+56 9 8765 4321",
        country="CL",
        organization="Sindicato de Pescadores de Caleta Tumbes",
    )
    enrolled = participant_journey(browsing, mail_catcher, person, shots=True)
    assert enrolled.verification_code
    browsing.assert_stayed_local()


def test_participant_journey_works_without_javascript(browsing_without_js, mail_catcher):
    person = Person(
        name="José Ñancupil Huenchullán",
        email="jose.nancupil@example.org",
        phone="+51 987 654 321",
        country="PE",
        organization="Asociación de Pescadores Artesanales de Paita",
    )
    participant_journey(browsing_without_js, mail_catcher, person)
    browsing_without_js.assert_stayed_local()
