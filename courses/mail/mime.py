"""The bytes of an outgoing message: what Flask-Mail sends, without the email package's detours.

Flask-Mail's `Message.as_bytes()` builds a tree of `email.mime` objects and flattens it with
`policy.SMTP`: along the way each header is parsed again several times, the RFC 2047 encoding
of the subject and of the sender's name is recomputed for every message, and a regular
expression is compiled for every boundary. It was four fifths of the delivery worker's CPU per
message. Our messages have one shape (a plain text, optionally with an HTML alternative, and a
few header fields), so `message_bytes` writes that shape directly, byte for byte what Flask-Mail
writes (tests/mail/test_mime.py compares them, boundaries included), and leaves every other
shape to Flask-Mail: attachments, several recipients, a header that is neither ASCII nor long
enough for the policy to fold it again.
"""

from __future__ import annotations

import random
import re
import sys
from email.policy import SMTP
from email.utils import formatdate
from functools import lru_cache

from flask_mail import Message, force_text, sanitize_address, sanitize_subject

#: `policy.SMTP`'s longest header line before it refolds a header.
MAX_LINE = 78
#: The email package's boundary: 15 "=", a random number of 19 digits, "==".
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))
#: Line breaks the email package turns into CRLF in a body (email.generator.NLCRE).
_NEWLINES = re.compile(rb"\r\n|\r|\n")
_CRLF = "\r\n"


@lru_cache(maxsize=256)
def address(value: str) -> str:
    """Flask-Mail's `sanitize_address` (RFC 2047 name, IDNA domain), once per address."""
    return sanitize_address(value, "utf-8")


@lru_cache(maxsize=256)
def _subject(value: str) -> str:
    # The same few subjects every time (one per kind and course): encoded once each.
    return sanitize_subject(force_text(value), "utf-8")


def message_bytes(message: Message) -> bytes:
    """The bytes Flask-Mail's `message.as_bytes()` gives, built directly when it can be."""
    html = message.alts.get("html")
    if message.body is None or set(message.alts) - {"html"}:
        return message.as_bytes()
    # In Flask-Mail's order (the parts, then the header fields), so that a text that cannot be
    # encoded fails with the same error.
    text = _part("plain", message.body)
    alternative = None if html is None else [text[0] + text[1], b"".join(_part("html", html))]
    headers = _top_headers(message)
    if headers is None:
        return message.as_bytes()
    if alternative is None:
        return text[0] + headers + text[1]
    inner = _multipart("alternative", alternative)
    mixed = None if inner is None else _multipart("mixed", [inner], headers)
    return mixed if mixed is not None else message.as_bytes()


def _top_headers(message: Message) -> bytes | None:
    """The message's own header lines, or None when Flask-Mail's path must write them."""
    if message.attachments or message.cc or message.reply_to or len(message.recipients) != 1:
        return None
    fields = []
    if message.subject:
        fields.append(("Subject", _subject(message.subject)))
    fields += [
        ("From", address(message.sender)),
        ("To", address(message.recipients[0])),
        ("Date", formatdate(message.date, localtime=True)),
        ("Message-ID", message.msgId),
        *(message.extra_headers or {}).items(),
    ]
    lines = []
    for name, value in fields:
        line = _header(name, value)
        if line is None:
            return None
        lines.append(line)
    return b"".join(lines)


def _header(name: str, value: str) -> bytes | None:
    """`policy.SMTP.fold_binary` of a header stored as text (as Flask-Mail stores them).

    A value with a line too long is refolded by the policy; that result depends only on the
    name and the value, and the few subjects come back all the time: kept (`_refolded`).
    None when Flask-Mail's own path must write it: not text, or text the policy cannot write
    in ASCII (it then fails there as before).
    """
    if not (isinstance(name, str) and isinstance(value, str)):
        return None
    lines = value.splitlines()
    if (lines and len(lines[0]) + len(name) + 2 > MAX_LINE) or any(
        len(line) > MAX_LINE for line in lines[1:]
    ):
        return _refolded(name, "".join(lines))
    if not (value.isascii() and name.isascii()):
        return None
    return f"{name}: {_CRLF.join(lines)}{_CRLF}".encode("ascii")


@lru_cache(maxsize=256)
def _refolded(name: str, value: str) -> bytes:
    return SMTP.header_factory(name, value).fold(policy=SMTP).encode("ascii", "surrogateescape")


def _part(subtype: str, body: str) -> tuple[bytes, bytes]:
    """A text part as MIMEText(body, subtype, "utf-8") writes it: (header lines, blank + body).

    The body goes out as it is (8bit, or 7bit when it is all ASCII), its line breaks as CRLF;
    encoded first, as MIMEText does, so that a text UTF-8 cannot encode fails the same way.
    """
    encoded = body.encode("utf-8")
    encoding = b"7bit" if body.isascii() else b"8bit"
    head = (
        b"Content-Type: text/" + subtype.encode("ascii") + b'; charset="utf-8"\r\n'
        b"MIME-Version: 1.0\r\n"
        b"Content-Transfer-Encoding: " + encoding + b"\r\n"
    )
    # UTF-8 never uses the bytes of CR and LF inside a character: splitting bytes is safe.
    return head, b"\r\n" + _NEWLINES.sub(b"\r\n", encoded)


def _multipart(subtype: str, parts: list[bytes], headers: bytes = b"") -> bytes | None:
    """A multipart/`subtype` of the written `parts`, its boundary drawn as the email package
    draws it (`random.randrange`, inner parts first). None if the boundary occurs in a part
    (the email package would then add a counter to it): Flask-Mail's path writes that one."""
    boundary = "=" * 15 + f"{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}" + "=="
    delimiter = b"--" + boundary.encode("ascii")
    if any(delimiter in part for part in parts):
        return None
    content_type = f'multipart/{subtype}; boundary="{boundary}"'
    if len(content_type) + len("Content-Type: ") > MAX_LINE:
        # What the policy's refolding gives for this header: the parameter on its own line.
        content_type = f'multipart/{subtype};\r\n boundary="{boundary}"'
    crlf = b"\r\n"
    return (
        b"Content-Type: " + content_type.encode("ascii") + crlf + b"MIME-Version: 1.0" + crlf
        + headers
        + crlf + delimiter + crlf
        + (crlf + delimiter + crlf).join(parts)
        + crlf + delimiter + b"--" + crlf
    )  # fmt: skip
