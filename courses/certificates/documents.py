"""The certificate as a PDF (reportlab) and as a PNG (Pillow), drawn from stored data only.

Both carry the same content in the participant's language: the name exactly as on the
certificate, course, edition, the module titles, the organisers, the issue date in the course's
time zone, the code and a QR code of PUBLIC_BASE_URL/verify/<code>. The DejaVu fonts cover Latin
Extended (ñ, ç, ã, ő, ł…); reportlab embeds only the glyphs used, which keeps the PDF small
(and, unlike fpdf2, subsets in a few milliseconds: see docs/benchmarks.md).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from babel.dates import format_date
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from courses.certificates import keys, qrproof
from courses.certificates.codes import format_code
from courses.certificates.models import Certificate
from courses.i18n import localized
from courses.registration.rules import printable

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR = FONTS / "DejaVuSans.ttf"
BOLD = FONTS / "DejaVuSans-Bold.ttf"
INK = (11, 58, 102)  # the site's dark blue
TEXT = (33, 37, 41)


@dataclass(frozen=True)
class CertificateContent:
    """Everything printed on a certificate, already in the participant's language."""

    heading: str
    granted_to: str
    name: str
    for_course: str
    course: str
    edition: str
    modules_heading: str
    modules: tuple[str, ...]
    organizers: str
    issued: str
    code_label: str
    code: str
    verify_label: str
    verify_url: str
    #: What the QR code holds: verify_url, then "#" and the signed offline proof (qrproof.py).
    qr_text: str


def content_for(cert: Certificate) -> CertificateContent:
    """Gather the certificate's texts in the enrollment's language."""
    enrollment = cert.enrollment
    edition = enrollment.edition
    course = edition.course
    language = enrollment.locale if enrollment.locale in ("es", "en") else "es"
    with force_locale(language):
        return CertificateContent(
            heading=_("Certificado de participación"),
            granted_to=_("Se otorga a"),
            name=printable(cert.holder_name),
            for_course=_("por haber completado el curso"),
            course=localized(course.title, language),
            edition=_("Edición %(edition)s", edition=edition.slug),
            modules_heading=_("Módulos"),
            modules=tuple(
                f"{module.position}. {localized(module.title, language)}"
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
            qr_text=qr_text(cert, localized(course.title, language), edition.slug),
        )


def verify_url(code: str) -> str:
    """The public address the QR code carries: PUBLIC_BASE_URL/verify/<code> (a contract)."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/verify/{code}"


def qr_text(cert: Certificate, course_title: str, edition_name: str) -> str:
    """The QR text: the verification address plus, when a signing key exists, its proof."""
    url = verify_url(cert.code)
    key = keys.keyring().current
    if key is None:
        return url  # no key yet: the address alone still works online
    local = cert.issued_at.astimezone(ZoneInfo(cert.enrollment.edition.course.timezone))
    facts = qrproof.QrFacts(
        cert.code, cert.holder_name, course_title, edition_name, local.date().isoformat(), ""
    )
    return qrproof.qr_text(url, facts, key)


def _qr(url: str) -> segno.QRCode:
    # Error correction "M" survives a crease or a smudge on a printed copy.
    return segno.make_qr(url, error="m")


def render_pdf(cert: Certificate) -> bytes:
    """The certificate as an A4 landscape PDF with real, selectable text and embedded fonts."""
    return _pdf(content_for(cert), cert.issued_at)


# Phones often retry a download; the output depends only on the content, so recent ones are kept.
@lru_cache(maxsize=32)
def _pdf(text: CertificateContent, issued_at: datetime) -> bytes:
    _register_fonts()
    buffer = io.BytesIO()
    page = canvas.Canvas(
        buffer,
        pagesize=landscape(A4),
        pageCompression=1,
        invariant=1,
        # Start in our own font, or reportlab lists an unembedded Helvetica in the resources.
        initialFontName="DejaVu",
        initialFontSize=10,
    )
    page.setTitle(f"{text.heading} · {text.name}")
    page.setAuthor(text.organizers)
    page.setCreator("Capacitaciones de la Alianza del Pacífico")
    width, height = landscape(A4)

    def top(y_mm: float) -> float:
        """Layout is written in millimetres from the top; PDF counts points from the bottom."""
        return height - y_mm * mm

    page.setStrokeColorRGB(*_rgb(INK))
    page.setLineWidth(1.2 * mm)
    page.rect(8 * mm, 8 * mm, width - 16 * mm, height - 16 * mm)
    page.setLineWidth(0.3 * mm)
    page.rect(11 * mm, 11 * mm, width - 22 * mm, height - 22 * mm)

    centre = width / 2
    page.setFillColorRGB(*_rgb(INK))
    page.setFont("DejaVu-Bold", 26)
    page.drawCentredString(centre, top(31), text.heading.upper())
    page.setFillColorRGB(*_rgb(TEXT))
    page.setFont("DejaVu", 13)
    page.drawCentredString(centre, top(44), text.granted_to)

    # The name is the point of the paper: as large as fits on one line; a very long one wraps.
    size = 28
    while size > 18 and stringWidth(text.name, "DejaVu-Bold", size) > 250 * mm:
        size -= 1
    page.setFillColorRGB(*_rgb(INK))
    y = 57.0
    for line in _lines(text.name, "DejaVu-Bold", size, 250 * mm):
        page.setFont("DejaVu-Bold", size)
        page.drawCentredString(centre, top(y), line)
        y += size * 0.45
    page.setFillColorRGB(*_rgb(TEXT))
    page.setFont("DejaVu", 13)
    page.drawCentredString(centre, top(y + 2), text.for_course)
    y += 10
    for line in _lines(text.course, "DejaVu-Bold", 15, 250 * mm):
        page.setFont("DejaVu-Bold", 15)
        page.drawCentredString(centre, top(y), line)
        y += 7
    page.setFont("DejaVu", 12)
    page.drawCentredString(centre, top(y), text.edition)

    y = max(y + 10, 104)
    page.setFont("DejaVu-Bold", 11)
    page.drawString(25 * mm, top(y), text.modules_heading)
    y += 6
    for module in text.modules:
        for line in _lines(module, "DejaVu", 10, 190 * mm):
            page.setFont("DejaVu", 10)
            page.drawString(25 * mm, top(y), line)
            y += 5

    y = max(y + 4, 164)
    for line in _lines(text.organizers, "DejaVu", 9, 190 * mm):
        page.setFont("DejaVu", 9)
        page.drawString(25 * mm, top(y), line)
        y += 4.5
    page.setFont("DejaVu", 10)
    page.drawString(25 * mm, top(y + 1), text.issued)
    page.setFont("DejaVu-Bold", 11)
    page.drawString(25 * mm, top(y + 7), f"{text.code_label}: {text.code}")
    page.setFont("DejaVu", 9)
    page.drawString(25 * mm, top(y + 13), f"{text.verify_label} {text.verify_url}")

    _draw_pdf_qr(page, _qr(text.qr_text), x=232 * mm, y=top(133), size=45 * mm)
    page.setFont("DejaVu-Bold", 10)
    page.setFillColorRGB(*_rgb(TEXT))
    page.drawCentredString(254.5 * mm, top(183), text.code)
    page.showPage()
    page.save()
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    # Parsed once per process; reportlab then embeds only the glyphs each document uses.
    pdfmetrics.registerFont(TTFont("DejaVu", str(REGULAR)))
    pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(BOLD)))


def _rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    return tuple(channel / 255 for channel in color)  # type: ignore[return-value]


def _lines(text: str, font: str, size: float, width: float) -> list[str]:
    """Break `text` into lines no wider than `width` points (words are never split)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines


def _draw_pdf_qr(page: canvas.Canvas, qr: segno.QRCode, *, x: float, y: float, size: float):
    """Draw the QR code as vector rectangles from its top-left corner (x, y), in points."""
    rows = list(qr.matrix_iter(scale=1, border=0))
    cell = size / len(rows)
    page.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            # One rectangle per run of dark modules keeps the page description short.
            page.rect(
                x + start * cell, y - (r + 1) * cell, (c - start) * cell, cell, stroke=0, fill=1
            )


PNG_SIZE = (1240, 877)  # A4 landscape at about 106 dpi: readable on a phone, small to send


@lru_cache(maxsize=32)
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD if bold else REGULAR), size)


def _wrap(draw: ImageDraw.ImageDraw, line: str, font, width: int) -> list[str]:
    words, lines, current = line.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines


def render_png(cert: Certificate) -> bytes:
    """The same certificate as a one-page palette PNG, for phones that cannot open a PDF."""
    return _png(content_for(cert))


@lru_cache(maxsize=32)
def _png(text: CertificateContent) -> bytes:
    width, height = PNG_SIZE
    image = Image.new("RGB", PNG_SIZE, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((18, 18, width - 19, height - 19), outline=INK, width=5)
    draw.rectangle((30, 30, width - 31, height - 31), outline=INK, width=1)

    def centred(line: str, y: int, font, fill=TEXT) -> int:
        for part in _wrap(draw, line, font, width - 160):
            draw.text((width // 2, y), part, font=font, fill=fill, anchor="ma")
            y += int(font.size * 1.3)
        return y

    y = centred(text.heading.upper(), 70, _font(True, 46), INK)
    y = centred(text.granted_to, y + 14, _font(False, 24))
    size = 52
    while size > 26 and draw.textlength(text.name, font=_font(True, size)) > width - 160:
        size -= 2
    y = centred(text.name, y + 6, _font(True, size), INK)
    y = centred(text.for_course, y + 4, _font(False, 24))
    y = centred(text.course, y + 2, _font(True, 28))
    y = centred(text.edition, y, _font(False, 22))

    left, y = 90, max(y + 20, 420)
    draw.text((left, y), text.modules_heading, font=_font(True, 21), fill=TEXT)
    y += 30
    small = _font(False, 19)
    for line in text.modules:
        for part in _wrap(draw, line, small, 760):
            draw.text((left, y), part, font=small, fill=TEXT)
            y += 25
    y = max(y + 14, 680)
    for part in _wrap(draw, text.organizers, _font(False, 17), 760):
        draw.text((left, y), part, font=_font(False, 17), fill=TEXT)
        y += 22
    draw.text((left, y + 2), text.issued, font=_font(False, 19), fill=TEXT)
    draw.text((left, y + 28), f"{text.code_label}: {text.code}", font=_font(True, 21), fill=TEXT)
    draw.text(
        (left, y + 56), f"{text.verify_label} {text.verify_url}", font=_font(False, 16), fill=TEXT
    )

    qr = _qr(text.qr_text)
    rows = list(qr.matrix_iter(scale=1, border=4))
    scale = max(1, 260 // len(rows))
    qr_x, qr_y = width - 90 - len(rows) * scale, height - 110 - len(rows) * scale
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    (
                        qr_x + c * scale,
                        qr_y + r * scale,
                        qr_x + (c + 1) * scale - 1,
                        qr_y + (r + 1) * scale - 1,
                    ),
                    fill="black",
                )
    draw.text(
        (qr_x + len(rows) * scale // 2, qr_y + len(rows) * scale + 6),
        text.code,
        font=_font(True, 20),
        fill=TEXT,
        anchor="ma",
    )

    # A small palette keeps the file light for people on paid mobile data.
    paletted = image.quantize(colors=16, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    paletted.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def issue_day(cert: Certificate, language: str) -> str:
    """The issue date in words, in the course's time zone ("21 de julio de 2023")."""
    timezone = cert.enrollment.edition.course.timezone
    local: datetime = cert.issued_at.astimezone(ZoneInfo(timezone))
    return format_date(local.date(), "long", locale=language)
