"""Every valid certificate of a set of registrations as PDFs in one ZIP file."""

from __future__ import annotations

import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from typing import IO

from courses.certificates.codes import format_code
from courses.certificates.documents import render_pdf
from courses.certificates.models import Certificate

#: In memory up to this size, then a temporary file: never both.
SPOOL_BYTES = 16 * 1024 * 1024


def file_stem(cert: Certificate) -> str:
    """CODE_name-in-ascii, safe on every file system."""
    plain = unicodedata.normalize("NFKD", cert.holder_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-")[:60] or "certificado"
    return f"{format_code(cert.code)}_{slug}"


def certificates_zip(certificates: Iterable[Certificate]) -> tuple[IO[bytes], int]:
    """(the ZIP rewound for reading, how many PDFs it holds)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    count = 0
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for cert in certificates:
            archive.writestr(f"{file_stem(cert)}.pdf", render_pdf(cert))
            count += 1
    spool.seek(0)
    return spool, count
