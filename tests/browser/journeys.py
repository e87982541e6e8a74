"""Journeys a person makes through the site, written once and run with and without JavaScript."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pypdf import PdfReader

from tests.browser.browser_support import Browsing, MailCatcher, text_body

COURSE = "pesca-acuicultura"
#: The open edition that `courses demo` creates (the 2023 edition closed long ago).
EDITION = "demo"
REGISTER_PATH = f"/courses/{COURSE}/{EDITION}/register"
MODULES = 6


@dataclass
class Person:
    """Someone who registers; e-mails are unique per journey (one registration per edition)."""

    name: str
    email: str
    phone: str
    country: str
    organization: str


@dataclass
class Enrolled:
    """What a journey learned about the person's registration."""

    personal_url: str
    verification_code: str | None = None


def path_of(url: str) -> str:
    """The path of a URL, without ?query or #fragment (a refused form adds #errores)."""
    return urlsplit(url).path


def fill_registration(page, person: Person, *, phone: str | None = None) -> None:
    """Fill the registration form by its public field names."""
    form = page.locator('form:has(input[name="email"])')
    form.locator('input[name="name"]').fill(person.name)
    form.locator('input[name="email"]').fill(person.email)
    form.locator('input[name="phone"]').fill(phone if phone is not None else person.phone)
    form.locator('select[name="country"]').select_option(person.country)
    form.locator('input[name="organization"]').fill(person.organization)
    form.locator('input[name="consent"]').check()


def submit(page, form_selector: str = "main form"):
    """Press the form's submit button and wait for the page the server answers with."""
    form = page.locator(form_selector).filter(has=page.locator('[type="submit"]')).last
    with page.expect_navigation():
        form.locator('[type="submit"]').first.click()


def follow(page, link) -> None:
    """Click a link and wait until the page it leads to has loaded."""
    with page.expect_navigation():
        link.click()


def error_for(page, field_name: str) -> str:
    """The error text a field points to with aria-describedby (and that is shown)."""
    field = page.locator(f'[name="{field_name}"]').first
    described = (field.get_attribute("aria-describedby") or "").split()
    assert described, f"the {field_name} field has no aria-describedby after an error"
    texts = []
    for element_id in described:
        target = page.locator(f"#{element_id}")
        assert target.count() == 1, f"aria-describedby of {field_name} names missing #{element_id}"
        if target.is_visible():
            texts.append(target.inner_text().strip())
    message = " ".join(t for t in texts if t)
    assert message, f"nothing visible is tied to the {field_name} field"
    # "Next to the field": the error sits right under it, not in a list at the top of the page.
    error_box = page.locator(".error", has_text=texts[-1]).first.bounding_box()
    field_box = field.bounding_box()
    assert error_box and field_box, "the field or its error is not laid out"
    gap = error_box["y"] - (field_box["y"] + field_box["height"])
    assert 0 <= gap < 160, f"the {field_name} error is {gap:.0f}px from its field"
    return message


def register_with_phone_typo(b: Browsing, person: Person, *, shots: bool) -> None:
    """From the catalogue to the confirmation page, with one refused try in between."""
    page = b.page
    b.goto("/")
    b.check("catálogo", screenshot="01-catalogo" if shots else None)
    follow(page, page.locator(f'main a[href$="/courses/{COURSE}"]').first)
    assert page.url.endswith(f"/courses/{COURSE}")
    b.check("curso", screenshot="02-curso" if shots else None)
    # The course page carries the visitor's country into the form (?country=CL).
    follow(page, page.locator(f'main a[href*="{REGISTER_PATH}"]').first)
    assert path_of(page.url) == REGISTER_PATH, page.url
    b.check("formulario de inscripción")

    # A letter O where a zero belongs: the kind of slip a thumb makes on a phone keyboard.
    typo = person.phone[:-2] + "O" + person.phone[-1]
    fill_registration(page, person, phone=typo)
    submit(page, 'form:has(input[name="email"])')
    assert path_of(page.url) == REGISTER_PATH, "a refused form stays on its page"
    assert b.shown_response().status in (400, 422), b.shown_response().status
    message = error_for(page, "phone")
    assert "tel" in message.lower(), message
    # Only the phone is wrong; the other values are kept for the person.
    assert page.locator('input[name="name"]').input_value() == person.name
    assert page.locator('input[name="email"]').input_value() == person.email
    assert page.locator('input[name="organization"]').input_value() == person.organization
    page.locator('[name="phone"]').first.scroll_into_view_if_needed()
    b.check(
        "inscripción con errores",
        status=b.shown_response().status,
        screenshot="03-inscripcion-errores" if shots else None,
    )

    page.locator('input[name="phone"]').fill(person.phone)
    if not page.locator('input[name="consent"]').is_checked():
        page.locator('input[name="consent"]').check()
    submit(page, 'form:has(input[name="email"])')
    assert path_of(page.url) != REGISTER_PATH, "the corrected form is accepted"
    assert any(r.status == 303 for r in b.documents[-2:]), "success answers with 303"
    assert "correo" in page.locator("main").inner_text().lower(), "the page says to read the mail"
    b.check("confirmación", screenshot="04-confirmacion" if shots else None)


def personal_link_from_mail(base_url: str, mail: MailCatcher, person: Person) -> str:
    """The /my/<token> link in the confirmation e-mail that reached the SMTP server."""
    message = mail.wait_for(person.email)[0]
    body = text_body(message)
    found = re.search(re.escape(base_url) + r"/my/[A-Za-z0-9_\-]+", body)
    assert found, f"no personal link in the e-mail:\n{body}"
    return found.group(0)


def read_mailbox(b: Browsing, person: Person, *, shots: bool) -> None:
    """The development mailbox lists the e-mail and shows it."""
    page = b.page
    b.goto("/dev/mailbox")
    b.check("buzón de desarrollo")
    follow(page, page.locator("main tr", has_text=person.email).locator("a").first)
    assert "/my/" in page.locator("main").inner_text()
    b.check("correo en el buzón", screenshot="05-correo" if shots else None)


def complete_modules(b: Browsing, personal_url: str, *, shots: bool) -> None:
    """Open each of the six modules from the personal page and confirm it."""
    page = b.page
    page.goto(personal_url)
    b.check("página personal", screenshot="06-mi-pagina" if shots else None)
    for number in range(1, MODULES + 1):
        page.goto(personal_url)
        follow(page, page.locator(f'main a[href$="/modules/{number}"]').first)
        assert page.url.endswith(f"/modules/{number}"), page.url
        b.check(f"módulo {number}", screenshot="07-modulo" if shots and number == 1 else None)
        submit(page, 'main form[action$="/complete"]')
    page.goto(personal_url)
    assert page.locator(f'main a[href$="/modules/{MODULES}"]').count() >= 1


def download_certificate(b: Browsing, personal_url: str, person: Person, *, shots: bool) -> str:
    """Download the PDF from the personal page; return its verification code."""
    page = b.page
    page.goto(personal_url)
    b.check("página personal con certificado", screenshot="08-certificado" if shots else None)
    link = page.locator('main a[href$="/certificate.pdf"]').first
    with page.expect_download() as download_info:
        link.click()
    pdf = download_info.value.path().read_bytes()
    assert pdf.startswith(b"%PDF"), pdf[:20]
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    assert person.name in text, f"{person.name!r} not in the certificate:\n{text}"
    verify = page.locator('main a[href*="/verify/"]')
    if verify.count():
        return verify.first.get_attribute("href").rstrip("/").rsplit("/", 1)[1]
    found = re.search(r"/verify/([A-Z0-9\-]+)", text)
    assert found, f"no verification code on the page or in the PDF:\n{text}"
    return found.group(1)


def verify(b: Browsing, code: str, person: Person, *, shots: bool) -> None:
    """The public verification page says the certificate is valid, for whom."""
    page = b.page
    response = b.goto(f"/verify/{code}")
    assert response.status == 200
    text = page.locator("main").inner_text()
    assert "válido" in text.lower(), text
    assert person.name in text, text
    b.check("verificación", screenshot="09-verificacion" if shots else None)
    response = b.goto("/verify/AAAAA-AAAAA")
    b.check("verificación con código erróneo", status=404)


def participant_journey(
    b: Browsing, mail: MailCatcher, person: Person, *, shots: bool = False
) -> Enrolled:
    """Register, read the mail, complete the course, get and verify the certificate."""
    register_with_phone_typo(b, person, shots=shots)
    personal_url = personal_link_from_mail(b.checks.base_url, mail, person)
    read_mailbox(b, person, shots=shots)
    complete_modules(b, personal_url, shots=shots)
    code = download_certificate(b, personal_url, person, shots=shots)
    verify(b, code, person, shots=shots)
    return Enrolled(personal_url=personal_url, verification_code=code)


# --- Keyboard only -------------------------------------------------------------------------------


def focused(page, form: str) -> dict:
    """What has the keyboard focus now: tag, name, type, and whether it is inside `form`."""
    return page.evaluate(
        "form => { const e = document.activeElement;"
        " return {tag: e.tagName, name: e.name || '', type: e.type || '',"
        " inside: e.closest(form) !== null}; }",
        form,
    )


def keyboard_fill(
    page,
    values: dict[str, str | bool],
    *,
    form: str = 'form:has([type="submit"])',
    max_tabs: int = 60,
) -> list[str]:
    """Complete a form with Tab, typing, Space for a checkbox and Enter on the submit button.

    Starts from the top of the page, as a person with a keyboard would, and types only into the
    form matching `form`; returns the field names in the order the focus reached them.
    """
    page.locator("body").evaluate("b => { window.scrollTo(0, 0); document.activeElement.blur(); }")
    order: list[str] = []
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        element = focused(page, form)
        name = element["name"]
        if not element["inside"]:
            continue
        if name in values and name not in order:
            order.append(name)
            value = values[name]
            if element["type"] == "checkbox":
                if value:
                    page.keyboard.press("Space")
            elif element["tag"] == "SELECT":
                label = page.evaluate(
                    "v => [...document.activeElement.options].find(o => o.value === v).text", value
                )
                page.keyboard.type(label)
                selected = page.evaluate("() => document.activeElement.value")
                assert selected == value, f"typing {label!r} chose {selected!r}"
            else:
                page.keyboard.press("ControlOrMeta+a")
                page.keyboard.type(str(value))
        elif element["type"] == "submit" and set(order) == set(values):
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return order
    raise AssertionError(f"Tab never reached every field and then a submit button: {order}")
