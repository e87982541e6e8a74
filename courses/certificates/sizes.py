"""The download sizes the personal page shows ("PDF, 85 kB"), measured once and kept.

Rendering both documents costs about 25 ms, so the byte counts are stored on the certificate,
in the language the page offers first (the holder's; the other-language link shows no size).
They are measured on the holder's first visit after the certificate is issued (or by
`flask certificates sizes`), not when it is issued: a coordinator's import issues hundreds of
certificates in one request, and 25 ms each would hold the write lock for seconds.

The sizes stay exact because they are stored with a digest of what they were measured from:
the printed content (a course file reloaded, a new signing key, a new translation change it)
and the renderers themselves (their code, fonts and libraries). When the digest no longer
matches, or a certificate has none yet, the next visit measures again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from courses.certificates import documents, picture
from courses.certificates.content import CertificateContent, content_for
from courses.certificates.models import Certificate


@dataclass(frozen=True)
class DownloadSizes:
    pdf: int
    png: int


@dataclass(frozen=True)
class Measured:
    """Sizes measured from a certificate's content, with the digest of what they describe."""

    sizes: DownloadSizes
    digest: str


def store_sizes(cert: Certificate) -> None:
    """Measure the certificate's PDF and PNG and keep the sizes on it."""
    keep_sizes(cert, measure(cert))


def measure(cert: Certificate) -> Measured:
    """Render both documents and count their bytes (reads only: no lock needed)."""
    text = content_for(cert)
    sizes = DownloadSizes(documents.pdf_size(text, cert.issued_at), picture.png_size(text))
    return Measured(sizes, sizes_digest(text))


def keep_sizes(cert: Certificate, measured: Measured) -> None:
    """Store sizes measured before (the caller commits, in a short write)."""
    cert.pdf_bytes = measured.sizes.pdf
    cert.png_bytes = measured.sizes.png
    cert.sizes_digest = measured.digest


def stored_sizes(cert: Certificate) -> DownloadSizes | None:
    """The stored sizes, while they still describe the documents; None when they must be
    measured (never stored, or the content or the renderers changed since)."""
    if cert.pdf_bytes is None or cert.png_bytes is None:
        return None
    if cert.sizes_digest != sizes_digest(content_for(cert)):
        return None
    return DownloadSizes(cert.pdf_bytes, cert.png_bytes)


def download_sizes(cert: Certificate) -> DownloadSizes:
    """The sizes of the downloads `/my/<token>` links to: stored ones while they still hold."""
    return stored_sizes(cert) or measure(cert).sizes


def refresh_sizes(certificates) -> int:
    """Store the sizes of those `certificates` whose stored ones are missing or no longer hold
    (after a key rotation or a course file reload); how many were measured. The caller
    commits."""
    measured = 0
    for cert in certificates:
        if stored_sizes(cert) is None:
            store_sizes(cert)
            measured += 1
    return measured


def sizes_digest(text: CertificateContent) -> str:
    """SHA-256 of everything the two documents are drawn from (see the module docstring)."""
    digest = hashlib.sha256(_renderers())
    _feed(digest, text)
    return digest.hexdigest()


def _feed(digest, value) -> None:
    """Each value typed and length-prefixed, so that no two contents feed the same bytes."""
    if isinstance(value, str):
        value = value.encode("utf-8")
        digest.update(b"s%d:" % len(value))
        digest.update(value)
    elif isinstance(value, bytes):
        digest.update(b"b%d:" % len(value))
        digest.update(value)
    elif value is None:
        digest.update(b"n")
    elif isinstance(value, int | float):
        _feed(digest, repr(value))
    elif isinstance(value, tuple):
        digest.update(b"t%d:" % len(value))
        for item in value:
            _feed(digest, item)
    elif dataclasses.is_dataclass(value):
        _feed(digest, tuple(getattr(value, f.name) for f in dataclasses.fields(value)))
    else:
        raise TypeError(f"cannot digest {type(value).__name__}")


@lru_cache(maxsize=1)
def _renderers() -> bytes:
    """The renderers' own fingerprint: a deploy that changes the layout changes every size."""
    digest = hashlib.sha256()
    for path in (documents.__file__, picture.__file__, documents.REGULAR, documents.BOLD):
        digest.update(Path(path).read_bytes())
    for package in ("reportlab", "pillow", "segno"):
        digest.update(f"{package}={version(package)};".encode())
    return digest.digest()
