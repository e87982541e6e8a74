"""The certificate as an A4 landscape PDF (reportlab), drawn from stored data only.

It carries, in one language (content.py): the name exactly as on the certificate, course,
edition, total hours and country, the module titles, the organisers, the signatories (with
their signature images) and logos named by the course file, the issue date in the course's time
zone, the code and a QR code of PUBLIC_BASE_URL/verify/<code> with its signed offline proof. The
DejaVu fonts cover Latin Extended (ñ, ç, ã, ő, ł…); reportlab embeds only the glyphs used, which
keeps the PDF small (and, unlike fpdf2, subsets in a few milliseconds: see docs/benchmarks.md).
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import segno
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from courses.certificates.content import CertificateContent, content_for
from courses.certificates.models import Certificate
from courses.certificates.recent import recent

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR = FONTS / "DejaVuSans.ttf"
BOLD = FONTS / "DejaVuSans-Bold.ttf"
INK = (11, 58, 102)  # the site's dark blue
TEXT = (33, 37, 41)


#: QR mask pattern. The text after "#" is base64 of a signature and signed data, so the
#: modules are already as irregular as masking aims to make them; searching the best of the 8
#: masks (segno's default) took 18 of the ~25 ms a certificate costs, for no gain in reading.
QR_MASK = 0


@recent(maxsize=64)
def qr_code(text: str) -> segno.QRCode:
    # Error correction "M" survives a crease or a smudge on a printed copy.
    return segno.make_qr(text, error="m", mask=QR_MASK)


def render_pdf(cert: Certificate, language: str | None = None) -> bytes:
    """The certificate as an A4 landscape PDF with real, selectable text and embedded fonts."""
    return _pdf(content_for(cert, language), cert.issued_at)


def pdf_size(text: CertificateContent, issued_at: datetime) -> int:
    """Bytes of the PDF of this content (the personal page keeps them: certificates/sizes.py)."""
    return len(_pdf(text, issued_at))


# Phones often retry a download; the output depends only on the content, so recent ones are
# kept, a few minutes at most (recent.py: the content names the holder).
@recent(maxsize=32)
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
    # Logos take a row at the top; the rest moves down to make room for it.
    shift = 9 if text.logos else 0
    if text.logos:
        _draw_logos(page, text, top=top(14), height=12 * mm, width=width)
    page.setFillColorRGB(*_rgb(INK))
    page.setFont("DejaVu-Bold", 26)
    page.drawCentredString(centre, top(31 + shift), text.heading.upper())
    page.setFillColorRGB(*_rgb(TEXT))
    page.setFont("DejaVu", 13)
    page.drawCentredString(centre, top(44 + shift), text.granted_to)

    # The name is the point of the paper: as large as fits on one line; a very long one wraps.
    size = 28
    while size > 18 and stringWidth(text.name, "DejaVu-Bold", size) > 250 * mm:
        size -= 1
    page.setFillColorRGB(*_rgb(INK))
    y = 57.0 + shift
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
    if text.details:
        y += 6
        page.setFont("DejaVu", 11)
        page.drawCentredString(centre, top(y), text.details)

    y = max(y + 10, 104)
    page.setFont("DejaVu-Bold", 11)
    page.drawString(25 * mm, top(y), text.modules_heading)
    y += 6
    for module in text.modules:
        for line in _lines(module, "DejaVu", 10, 190 * mm):
            page.setFont("DejaVu", 10)
            page.drawString(25 * mm, top(y), line)
            y += 5

    if text.signatories:
        y = _draw_signatories(page, text, y_mm=max(y + 4, 142), top=top)
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

    _draw_pdf_qr(page, qr_code(text.qr_text), x=232 * mm, y=top(133), size=45 * mm)
    page.setFont("DejaVu-Bold", 10)
    page.setFillColorRGB(*_rgb(TEXT))
    page.drawCentredString(254.5 * mm, top(183), text.code)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _draw_logos(page: canvas.Canvas, text: CertificateContent, *, top: float, height, width):
    """The logos in one centred row, each `height` tall, 8 mm apart."""
    gap = 8 * mm
    widths = [min(height * logo.aspect, 60 * mm) for logo in text.logos]
    x = (width - sum(widths) - gap * (len(widths) - 1)) / 2
    for logo, logo_width in zip(text.logos, widths, strict=True):
        page.drawImage(
            ImageReader(io.BytesIO(logo.image)),
            x,
            top - height,
            logo_width,
            height,
            mask="auto",
            preserveAspectRatio=True,
        )
        x += logo_width + gap


def _draw_signatories(page: canvas.Canvas, text: CertificateContent, *, y_mm: float, top) -> float:
    """Signature, a line, the name and the role of each signatory, side by side; the y after."""
    column = 200 * mm / len(text.signatories)
    for index, person in enumerate(text.signatories):
        middle = 25 * mm + column * (index + 0.5)
        if person.signature:
            image = ImageReader(io.BytesIO(person.signature))
            image_width, image_height = image.getSize()
            height = 12 * mm
            drawn = min(height * image_width / image_height, column - 10 * mm)
            page.drawImage(
                image,
                middle - drawn / 2,
                top(y_mm + 12),
                drawn,
                height,
                mask="auto",
                preserveAspectRatio=True,
            )
        page.setStrokeColorRGB(*_rgb(TEXT))
        page.setLineWidth(0.2 * mm)
        page.line(middle - 30 * mm, top(y_mm + 13), middle + 30 * mm, top(y_mm + 13))
        page.setFillColorRGB(*_rgb(TEXT))
        page.setFont("DejaVu-Bold", 9)
        page.drawCentredString(middle, top(y_mm + 17), person.name)
        page.setFont("DejaVu", 8)
        page.drawCentredString(middle, top(y_mm + 21), person.role)
    return y_mm + 21


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


_DARK_RUN = re.compile(rb"\x01+")


def _draw_pdf_qr(page: canvas.Canvas, qr: segno.QRCode, *, x: float, y: float, size: float):
    """Draw the QR code as vector rectangles from its top-left corner (x, y), in points."""
    rows = qr.matrix  # one bytearray per row, 1 for a dark module, no quiet zone
    cell = size / len(rows)
    page.saveState()
    page.setFillColorRGB(0, 0, 0)
    # In a coordinate system of one unit per module, y downwards, every rectangle is written
    # with small integers: a version-13 code has ~1,200 runs, and formatting floats for each
    # through reportlab's pure-Python path cost more than the rest of the page.
    page.transform(cell, 0, 0, -cell, x, y)
    # One rectangle per run of dark modules keeps the page description short; the runs are
    # found by the regular-expression engine rather than a Python loop over every module.
    parts = [
        f"{run.start()} {r} {run.end() - run.start()} 1 re"
        for r, row in enumerate(rows)
        for run in _DARK_RUN.finditer(row)
    ]
    parts.append("f")
    page._code.append("\n".join(parts))  # reportlab's content stream: plain PDF operators
    page.restoreState()
