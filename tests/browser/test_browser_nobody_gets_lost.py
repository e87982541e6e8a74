"""Nobody gets lost, at 360×640 with JavaScript on and off: a mistyped domain corrected by the
suggestion, the error summary in view, the link shown at once, recovery by phone, and a
withdrawal that gives the seat to the next person."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import urlsplit

import pytest

from tests.browser.browser_support import missing_browser_reason

REASON = missing_browser_reason()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

from tests.browser.browser_support import text_body  # noqa: E402 - only once the browser is there
from tests.browser.journeys import REGISTER_PATH, Person, fill_registration, follow, submit  # noqa: E402

pytestmark = pytest.mark.browser

#: A course with one seat, loaded by the test, so a withdrawal has someone to promote.
SEATS_COURSE = """\
slug = "prueba-cupos-{suffix}"
title = "Curso con un solo cupo"
timezone = "America/Lima"
countries = ["PE", "CL"]

[[modules]]
title = "Único módulo"

[[editions]]
slug = "unica"
registration_closes = {closes}
capacity = 1
"""


def in_view(page, selector: str) -> bool:
    """Whether the element's top is inside the phone's screen right now."""
    box = page.locator(selector).first.bounding_box()
    height = page.viewport_size["height"]
    # Scrolled to by the #errores fragment: its top sits at 0 (give or take a subpixel).
    return box is not None and -2 <= box["y"] < height


def personal_link_in(mail_catcher, address: str, count: int, base_url: str) -> str:
    message = mail_catcher.wait_for(address, count=count)[count - 1]
    found = re.search(re.escape(base_url) + r"/my/[A-Za-z0-9_\-]+", text_body(message))
    assert found, text_body(message)
    return found.group(0)


def typo_then_recover_by_phone(b, mail_catcher, person: Person, national_phone: str) -> None:
    page = b.page
    b.goto(REGISTER_PATH)
    fill_registration(page, person)
    submit(page, 'form:has(input[name="email"])')
    assert b.shown_response().status == 422
    # The summary is at the top and on screen: the form's action ends in #errores.
    assert page.url.endswith("#errores"), page.url
    box = page.locator("#errores").bounding_box()
    assert in_view(page, "#errores"), f"the error summary is not in view: {box}"
    meant = person.email.replace("@gmial.com", "@gmail.com")
    assert f"¿Quisiste decir {meant}?" in page.locator("#errores").inner_text()
    assert page.locator('[aria-invalid="true"]').first.get_attribute("name") == "email"
    b.check("inscripción con sugerencia de correo", status=422)

    with page.expect_navigation():
        page.locator(f'button[name="suggested_email"][value="{meant}"]').click()
    assert urlsplit(page.url).path.endswith("/registered"), page.url
    main = page.locator("main").inner_text()
    assert meant in main, main
    assert page.locator('main a.button[href^="/my/"]').count() == 1
    assert page.locator('main a[href^="https://wa.me/?text="]').count() == 1
    b.check("confirmación con el enlace personal")
    personal_url = personal_link_in(mail_catcher, meant, 1, b.checks.base_url)
    assert personal_url.endswith(page.locator('main a.button[href^="/my/"]').get_attribute("href"))

    # Lost: no access to that mail box, but the phone number, as people write it there.
    b.goto("/my/lost")
    b.check("recuperar el enlace")
    form = page.locator('main form[action$="/my/lost"]')
    form.locator('input[name="phone"]').fill(national_phone)
    form.locator('select[name="country"]').select_option(person.country)
    submit(page, 'main form[action$="/my/lost"]')
    assert "Si ese correo o ese teléfono está inscrito" in page.locator("main").inner_text()
    b.check("recuperar el enlace: enviado")
    assert personal_link_in(mail_catcher, meant, 2, b.checks.base_url) == personal_url


def withdrawal_promotes_the_next_person(b, live_server, mail_catcher, suffix: str) -> None:
    page = b.page
    course = tmp_course(live_server, suffix)
    register = f"/courses/{course}/unica/register"
    first = Person(
        f"Rosa Huamán {suffix}", f"rosa.{suffix}@example.org", "987 654 321", "PE", "Caleta"
    )
    second = Person(
        f"Luis Chávez {suffix}", f"luis.{suffix}@example.org", "987 654 322", "PE", "Caleta"
    )
    personal = {}
    for person in (first, second):
        b.goto(register)
        fill_registration(page, person)
        submit(page, 'form:has(input[name="email"])')
        personal[person.email] = page.locator('main a.button[href^="/my/"]').get_attribute("href")
    assert "lista de espera" in page.locator("main").inner_text()
    b.goto(f"/courses/{course}")
    assert "Cupos completos: lista de espera" in page.locator("main").inner_text()
    b.check("curso lleno")

    b.goto(personal[second.email])
    assert "Tu lugar en la lista de espera: 1" in page.locator("main").inner_text()
    b.goto(personal[first.email])
    follow(page, page.locator('main a[href$="/withdraw"]'))
    b.check("dejar la edición: confirmación")
    submit(page, 'main form[action$="/withdraw"]')
    assert "Dejaste esta edición" in page.locator("main").inner_text()
    b.check("dejó la edición")
    promoted = mail_catcher.wait_for(second.email, count=2)[1]
    assert "Tienes un cupo" in str(promoted["Subject"]), promoted["Subject"]
    b.goto(personal[second.email])
    text = page.locator("main").inner_text()
    assert "Tu lugar en la lista de espera" not in text and "Inscrito" in text, text
    b.check("promovida desde la lista de espera")


def tmp_course(live_server, suffix: str) -> str:
    closes = (date.today() + timedelta(days=30)).isoformat()
    with TemporaryDirectory() as folder:
        path = Path(folder) / f"cupos-{suffix}.toml"
        path.write_text(SEATS_COURSE.format(suffix=suffix, closes=closes), encoding="utf-8")
        live_server.flask("courses", "load", str(path))
    return f"prueba-cupos-{suffix}"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_nobody_gets_lost(request, javascript, live_server, mail_catcher):
    b = request.getfixturevalue("browsing" if javascript else "browsing_without_js")
    suffix = "js" if javascript else "nojs"
    phone = "+51 912 345 67" + ("1" if javascript else "2")
    person = Person(
        name=f"Juan Quispe Mamani {suffix}",
        email=f"juan.quispe.{suffix}@gmial.com",
        phone=phone,
        country="PE",
        organization="Asociación de Pescadores de Paita",
    )
    national = "912 345 67" + ("1" if javascript else "2")
    typo_then_recover_by_phone(b, mail_catcher, person, national)
    withdrawal_promotes_the_next_person(b, live_server, mail_catcher, suffix)
    b.assert_stayed_local()
