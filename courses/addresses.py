"""One key per inbox: what rate limits (and the outbox's per-recipient cap) count by.

People type the same address in many spellings that all reach one inbox: `ANA@Example.com`,
fullwidth `ana@ｅxample.com`, `ana@xn--…` against its Unicode form, `ana+1@gmail.com`,
`a.n.a@gmail.com`. A limit keyed on the address as typed starts afresh for each spelling, so
"mail this person at most N times" did not hold. This key is for counting only: the address
stored and mailed stays the one the person typed (normalised by email-validator).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import idna

#: Providers that ignore dots in the local part; "googlemail.com" is the same as "gmail.com".
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
MAX_LENGTH = 320


def normalise_address(raw: str | None) -> str:
    """The inbox key of an e-mail address: NFKC, IDNA (A-label) domain, lower case, no +tag.

    Anything that is not an address is still folded the same way (NFKC, case), so the key of
    garbage is stable too; it never raises.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.casefold()[:MAX_LENGTH]
    local = local.casefold().split("+", 1)[0]
    domain = _ascii_domain(domain.strip().rstrip("."))
    if domain in _DOTLESS:
        local, domain = local.replace(".", ""), _DOTLESS[domain]
    return f"{local}@{domain}"[:MAX_LENGTH]


# IDNA is most of a key's cost, and domains repeat (most people share a few providers): the
# reminders job keys 30,000 addresses at once. Bounded, whatever domains visitors type.
@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    """The domain as DNS sees it (xn--… for non-ASCII labels), lower case."""
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return domain.casefold()
