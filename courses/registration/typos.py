"""E-mail domains that look mistyped: "gmial.com" is almost surely "gmail.com".

No maintained library does this for the region (the PyPI candidates are one-person projects
with a global list and no releases for years), so this is a short list of the providers people
here use and an edit distance that counts a swap of two letters as one mistake.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Providers seen in registrations from Chile, Colombia, México, Perú and Costa Rica.
PROVIDERS = (
    "gmail.com",
    "hotmail.com",
    "hotmail.es",
    "outlook.com",
    "outlook.es",
    "live.com",
    "yahoo.com",
    "yahoo.es",
    "yahoo.com.mx",
    "icloud.com",
    "msn.com",
    "prodigy.net.mx",
)

#: Real domains one letter away from a provider: never "corrected".
REAL_NEIGHBOURS = frozenset(
    {"mail.com", "email.com", "ymail.com", "gmx.com", "live.cl", "hotmail.cl", "yahoo.cl"}
)


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


#: Providers with one domain worldwide: "gmail.cl" is a mistake, "hotmail.cl" is not.
SINGLE_DOMAIN = frozenset({"gmail", "icloud", "msn"})
#: A country's own suffix ("cl", "com.ar"); "co" is also the commonest slip for "com".
_COUNTRY_SUFFIX = re.compile(r"^(?:(?:com|net)\.)?[a-z]{2}$")


def _national_variant(domain: str) -> bool:
    """hotmail.cl, yahoo.com.ar, outlook.com.pe: a provider's real domain in one country."""
    name, _dot, suffix = domain.partition(".")
    known = {provider.partition(".")[0] for provider in PROVIDERS}
    return (
        name in known
        and name not in SINGLE_DOMAIN
        and suffix != "co"
        and _COUNTRY_SUFFIX.match(suffix) is not None
    )


# A pure function of the domain and the fixed lists above; most people share a few domains,
# and comparing one with every provider costs more than the rest of the registration's checks.
@lru_cache(maxsize=2048)
def suggest_domain(domain: str) -> str | None:
    """The provider `domain` was probably meant to be, or None when it looks right."""
    domain = domain.lower()
    if domain in PROVIDERS or domain in REAL_NEIGHBOURS or _national_variant(domain):
        return None
    best: tuple[int, str] | None = None
    for provider in PROVIDERS:
        # One mistake in a short name, two in a longer one ("gmial.con").
        allowed = 1 if len(provider) < 9 else 2
        found = distance(domain, provider)
        if found <= allowed and (best is None or found < best[0]):
            best = (found, provider)
    return best[1] if best else None


def suggest_address(email: str) -> str | None:
    """`email` with its domain corrected, or None when the domain looks right."""
    local, at, domain = email.rpartition("@")
    if not at:
        return None
    suggestion = suggest_domain(domain)
    return f"{local}@{suggestion}" if suggestion else None
