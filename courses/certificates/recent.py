"""Recently rendered certificates, kept a few minutes at most: the name must not outstay erasure.

A certificate's PDF, PNG and QR code are pure functions of its content, which includes the
holder's name, and phones often retry a download: keeping recent renders saves work. A cache
for the process's lifetime would also keep a person's name in every web worker's memory after
their data is erased (`privacy erase`, the retention purge), for as long as the process runs.
So renders are kept `RECENT_SECONDS` at most (`cachetools`' TTL cache, made for it), and the
process that erases someone drops them at once (`forget`); the other processes within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cachetools.func import ttl_cache

#: How long a render is kept: a phone's retries, not the life of the process.
RECENT_SECONDS = 300

_kept: list[Any] = []


def recent(maxsize: int, timer: Callable[[], float] = time.monotonic) -> Callable:
    """Decorator: keep up to `maxsize` results, each for `RECENT_SECONDS` (by `timer`)."""

    def decorate(function: Callable) -> Callable:
        cached = ttl_cache(maxsize=maxsize, ttl=RECENT_SECONDS, timer=timer)(function)
        _kept.append(cached)
        return cached

    return decorate


def forget() -> None:
    """Drop every kept render in this process (someone's data was just erased)."""
    for cached in _kept:
        cached.cache_clear()
