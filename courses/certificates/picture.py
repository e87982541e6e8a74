"""The certificate as a one-page PNG (Pillow), for phones that cannot open a PDF.

Same content as the PDF (content.py, documents.py), laid out in pixels.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from courses.certificates.content import CertificateContent, content_for
from courses.certificates.documents import BOLD, INK, REGULAR, TEXT, qr_code
from courses.certificates.models import Certificate
from courses.certificates.recent import recent

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


def render_png(cert: Certificate, language: str | None = None) -> bytes:
    """The same certificate as a one-page palette PNG, for phones that cannot open a PDF."""
    return _png(content_for(cert, language))


def png_size(text: CertificateContent) -> int:
    """Bytes of the PNG of this content (the personal page keeps them: certificates/sizes.py)."""
    return len(_png(text))


@recent(maxsize=32)  # as documents._pdf: a phone's retries, a few minutes at most
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

    top = 70
    if text.logos:
        _paste_logos(image, text, y=44, height=50)
        top += 36
    y = centred(text.heading.upper(), top, _font(True, 46), INK)
    y = centred(text.granted_to, y + 14, _font(False, 24))
    size = 52
    while size > 26 and draw.textlength(text.name, font=_font(True, size)) > width - 160:
        size -= 2
    y = centred(text.name, y + 6, _font(True, size), INK)
    y = centred(text.for_course, y + 4, _font(False, 24))
    y = centred(text.course, y + 2, _font(True, 28))
    y = centred(text.edition, y, _font(False, 22))
    if text.details:
        y = centred(text.details, y + 2, _font(False, 20))

    left, y = 90, max(y + 20, 420)
    draw.text((left, y), text.modules_heading, font=_font(True, 21), fill=TEXT)
    y += 30
    small = _font(False, 19)
    for line in text.modules:
        for part in _wrap(draw, line, small, 760):
            draw.text((left, y), part, font=small, fill=TEXT)
            y += 24
    if text.signatories:
        y = _signatories(image, draw, text, max(y + 6, 600))
    y = max(y + 14, 680)
    for part in _wrap(draw, text.organizers, _font(False, 16), 800):
        draw.text((left, y), part, font=_font(False, 16), fill=TEXT)
        y += 21
    draw.text((left, y + 2), text.issued, font=_font(False, 19), fill=TEXT)
    draw.text((left, y + 28), f"{text.code_label}: {text.code}", font=_font(True, 21), fill=TEXT)
    draw.text(
        (left, y + 56), f"{text.verify_label} {text.verify_url}", font=_font(False, 16), fill=TEXT
    )

    qr = qr_code(text.qr_text)
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


def _fit(data: bytes, height: int, max_width: int) -> Image.Image:
    """An image from the course file scaled to `height` pixels (narrower if too wide)."""
    picture = Image.open(io.BytesIO(data)).convert("RGBA")
    width = min(max_width, max(1, round(picture.width * height / picture.height)))
    return picture.resize((width, max(1, round(picture.height * width / picture.width))))


def _paste_logos(image: Image.Image, text: CertificateContent, *, y: int, height: int) -> None:
    pictures = [_fit(logo.image, height, 250) for logo in text.logos]
    gap = 34
    x = (image.width - sum(p.width for p in pictures) - gap * (len(pictures) - 1)) // 2
    for picture in pictures:
        image.paste(picture, (x, y), picture)
        x += picture.width + gap


def _signatories(image, draw: ImageDraw.ImageDraw, text: CertificateContent, y: int) -> int:
    """Signature, line, name and role of each signatory side by side; returns the y after."""
    column = 800 // len(text.signatories)
    for index, person in enumerate(text.signatories):
        middle = 90 + column * index + column // 2
        if person.signature:
            picture = _fit(person.signature, 50, column - 40)
            image.paste(picture, (middle - picture.width // 2, y), picture)
        draw.line((middle - 120, y + 54, middle + 120, y + 54), fill=TEXT, width=1)
        draw.text((middle, y + 60), person.name, font=_font(True, 17), fill=TEXT, anchor="ma")
        draw.text((middle, y + 82), person.role, font=_font(False, 15), fill=TEXT, anchor="ma")
    return y + 90
