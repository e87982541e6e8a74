"""What a certificate says, gathered once from stored data for the PDF, the PNG and /verify.

The texts are in the participant's language (Spanish or English), or in the other one when the
holder asks for it (`?lang=en`). The QR text is the verification address followed by the signed
offline proof (qrproof.py) when a signing key exists.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import force_locale
from flask_babel import gettext as _

from courses.certificates import keys, qrproof
from courses.certificates.codes import format_code
from courses.certificates.models import Certificate
from courses.i18n import country_name, localized
from courses.registration.rules import printable
from courses.urls import public_url

LANGUAGES = ("es", "en")


@dataclass(frozen=True)
class Signatory:
    name: str
    role: str
    #: PNG or JPEG bytes of the signature, checked when the course file was loaded.
    signature: bytes | None


@dataclass(frozen=True)
class Logo:
    name: str
    image: bytes
    #: width / height, so the layout needs no decoding.
    aspect: float


@dataclass(frozen=True)
class CertificateContent:
    """Everything printed on a certificate, already in one language."""

    language: str
    heading: str
    granted_to: str
    name: str
    for_course: str
    course: str
    edition: str
    #: "Duración total: 3 horas · País: Perú" (either part may be missing).
    details: str
    modules_heading: str
    modules: tuple[str, ...]
    organizers: str
    issued: str
    code_label: str
    code: str
    verify_label: str
    verify_url: str
    #: What the QR code holds: verify_url, then "#" and the signed offline proof.
    qr_text: str
    signatories: tuple[Signatory, ...] = ()
    logos: tuple[Logo, ...] = ()


def certificate_language(cert: Certificate, asked: str | None = None) -> str:
    """The language asked for when it is one we print, else the participant's own."""
    if asked in LANGUAGES:
        return asked
    locale = cert.enrollment.locale
    return locale if locale in LANGUAGES else "es"


def total_minutes(course) -> int | None:
    """Sum of the modules' minutes; None when no module says how long it is."""
    minutes = [module.minutes for module in course.modules if module.minutes]
    return sum(minutes) if minutes else None


def hours_text(minutes: int, language: str) -> str:
    """Hours as people write them: 180 minutes → "3"; 150 → "2,5" in Spanish, "2.5" in English."""
    return format_decimal(minutes / 60, format="#,##0.#", locale=language)


def edition_name(edition, language: str) -> str:
    """The edition's proper name from the course file, else "Edición <slug>"."""
    with force_locale(language):
        return (
            localized(edition.name, language)
            if edition.name
            else _("Edición %(edition)s", edition=edition.slug)
        )


def content_for(cert: Certificate, language: str | None = None) -> CertificateContent:
    """Gather the certificate's texts in `language` (default: the enrollment's)."""
    enrollment = cert.enrollment
    edition = enrollment.edition
    course = edition.course
    language = certificate_language(cert, language)
    minutes = total_minutes(course)
    with force_locale(language):
        details = []
        if minutes:
            details.append(
                _("Duración total: %(hours)s horas", hours=hours_text(minutes, language))
            )
        if enrollment.country:
            details.append(
                _("País: %(country)s", country=country_name(enrollment.country, language))
            )
        title = localized(course.title, language)
        edition_text = edition_name(edition, language)
        return CertificateContent(
            language=language,
            heading=_("Certificado de participación"),
            granted_to=_("Se otorga a"),
            name=printable(cert.holder_name),  # stored before the name rule: no controls
            for_course=_("por haber completado el curso"),
            course=title,
            edition=edition_text,
            details=" · ".join(details),
            modules_heading=_("Módulos"),
            modules=tuple(
                f"{module.position}. {localized(module.title, language)}"
                + (f" ({module.minutes} min)" if module.minutes else "")
                for module in course.modules
            ),
            organizers=_(
                "Organizan: %(names)s",
                names=" · ".join(localized(name, language) for name in course.organizers or []),
            ),
            issued=_("Emitido el %(date)s", date=issue_day(cert, language)),
            code_label=_("Código de verificación"),
            code=format_code(cert.code),
            verify_label=_("Verifica este certificado en"),
            verify_url=verify_url(cert.code),
            qr_text=qr_text(cert, title, edition_text),
            signatories=tuple(
                Signatory(
                    entry["name"],
                    localized(entry["role"], language),
                    _image(entry.get("signature")),
                )
                for entry in course.signatories or []
            ),
            logos=tuple(
                Logo(entry["name"], _image(entry), entry["width"] / entry["height"])
                for entry in course.logos or []
            ),
        )


def _image(stored: dict | None) -> bytes | None:
    return base64.b64decode(stored["data"]) if stored else None


def verify_url(code: str) -> str:
    """The public address the QR code carries: PUBLIC_BASE_URL/verify/<code> (a contract)."""
    return public_url("certificates.verify", code=code)


def qr_text(cert: Certificate, course_title: str, edition_text: str) -> str:
    """The QR text: the verification address plus, when a signing key exists, its proof."""
    url = verify_url(cert.code)
    key = keys.keyring().current
    if key is None:
        return url  # no key yet: the address alone still works online
    local = cert.issued_at.astimezone(ZoneInfo(cert.enrollment.edition.course.timezone))
    facts = qrproof.QrFacts(
        cert.code, cert.holder_name, course_title, edition_text, local.date().isoformat(), ""
    )
    return qrproof.qr_text(url, facts, key)


def issue_day(cert: Certificate, language: str) -> str:
    """The issue date in words, in the course's time zone ("21 de julio de 2023")."""
    timezone = cert.enrollment.edition.course.timezone
    local: datetime = cert.issued_at.astimezone(ZoneInfo(timezone))
    return format_date(local.date(), "long", locale=language)
