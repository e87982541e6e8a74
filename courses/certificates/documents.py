"""The certificate as a PDF (fpdf2) and as a PNG (Pillow), drawn from stored data only.

Both carry the same content in the participant's language: the name exactly as on the
certificate, course, edition, the module titles, the organisers, the issue date in the course's
time zone, the code and a QR code of PUBLIC_BASE_URL/verify/<code>. The DejaVu fonts cover Latin
Extended (ñ, ç, ã, ő, ł…); fpdf2 embeds only the glyphs used, which keeps the PDF small.
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
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from courses.certificates.codes import format_code
from courses.certificates.models import Certificate
from courses.i18n import localized

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
            name=cert.holder_name,
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
        )


def verify_url(code: str) -> str:
    """The public address the QR code carries: PUBLIC_BASE_URL/verify/<code> (a contract)."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/verify/{code}"


def _qr(url: str) -> segno.QRCode:
    # Error correction "M" survives a crease or a smudge on a printed copy.
    return segno.make_qr(url, error="m")


def render_pdf(cert: Certificate) -> bytes:
    """The certificate as an A4 landscape PDF with real, selectable text and embedded fonts."""
    return _pdf(content_for(cert), cert.issued_at)


# Rendering takes a few hundred milliseconds (font parsing and subsetting) and phones often
# retry a download; the output depends only on the content, so recent ones are kept.
@lru_cache(maxsize=32)
def _pdf(text: CertificateContent, issued_at: datetime) -> bytes:
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_creation_date(issued_at.astimezone(ZoneInfo("UTC")))
    pdf.set_title(f"{text.heading} · {text.name}")
    pdf.set_author(text.organizers)
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 15, 20)
    pdf.add_font("DejaVu", "", str(REGULAR))
    pdf.add_font("DejaVu", "B", str(BOLD))
    pdf.add_page()

    pdf.set_draw_color(*INK)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, 281, 194)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, 275, 188)

    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "B", 26)
    pdf.set_y(22)
    pdf.cell(0, 12, text.heading.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*TEXT)
    pdf.set_font("DejaVu", "", 13)
    pdf.ln(3)
    pdf.cell(0, 7, text.granted_to, align="C", new_x="LMARGIN", new_y="NEXT")
    # The name is the point of the paper: as large as fits on one line; a very long one wraps.
    size = 28
    pdf.set_font("DejaVu", "B", size)
    while size > 18 and pdf.get_string_width(text.name) > 250:
        size -= 1
        pdf.set_font("DejaVu", "B", size)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, size * 0.45, text.name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*TEXT)
    pdf.set_font("DejaVu", "", 13)
    pdf.cell(0, 7, text.for_course, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 7, text.course, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 12)
    pdf.cell(0, 7, text.edition, align="C", new_x="LMARGIN", new_y="NEXT")

    top = max(pdf.get_y() + 5, 100)
    pdf.set_xy(25, top)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(190, 6, text.modules_heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    for line in text.modules:
        pdf.set_x(25)
        pdf.multi_cell(190, 5, line, new_x="LMARGIN", new_y="NEXT")

    pdf.set_xy(25, max(pdf.get_y() + 4, 160))
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(190, 4.5, text.organizers, new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(25)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(190, 6, text.issued, new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(25)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(190, 6, f"{text.code_label}: {text.code}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(25)
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(190, 5, f"{text.verify_label} {text.verify_url}", new_x="LMARGIN", new_y="NEXT")

    _draw_pdf_qr(pdf, _qr(text.verify_url), x=232, y=133, size=45)
    pdf.set_xy(227, 179)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(55, 5, text.code, align="C")
    return bytes(pdf.output())


def _draw_pdf_qr(pdf: FPDF, qr: segno.QRCode, *, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector rectangles (sharp at any zoom, a few hundred bytes)."""
    rows = list(qr.matrix_iter(scale=1, border=0))
    cell = size / len(rows)
    pdf.set_fill_color(0, 0, 0)
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
            pdf.rect(x + start * cell, y + r * cell, (c - start) * cell, cell, style="F")


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

    qr = _qr(text.verify_url)
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
