"""Where a `next=` may send someone: a path on this site, written so that it stays one.

Every view that redirects to a `next` it was given goes through `safe_next`. Without it a CR or
LF in `next` broke the Location header (a 500 after the login cookie was set), and
`//evil.example`, `/\\evil.example` or `https:evil.example` left the site.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, urlsplit

#: Characters kept as they are in a path and query; anything else (ñ, spaces) is %-encoded.
_KEEP = "/?&=#%:@!$'()*+,;~-._"


def safe_next(target: str | None, fallback: str, *, within: str = "/") -> str:
    """`target` if it is a path on this site under `within`, else `fallback`.

    Refused: anything not starting with a single "/", a scheme or host, a backslash (browsers
    read "/\\" as "//"), and any control, format or bidirectional character (CR, LF, tab, NUL,
    U+202E…). Non-ASCII letters are percent-encoded so the header stays plain ASCII.
    """
    if not isinstance(target, str) or not target or len(target) > 2000:
        return fallback
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in target):
        return fallback
    if "\\" in target or not target.startswith("/") or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(within):
        return fallback
    return quote(target, safe=_KEEP)
