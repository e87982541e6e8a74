"""A short-lived cache, in each process, of public pages that read the same for everyone.

The catalogue, a course page and an empty registration form depend only on the URL, the
language and the minute (registration opens and closes on the minute), yet building them costs
a few milliseconds of queries, Babel date formatting and templates. They are kept here for up
to PAGE_CACHE_SECONDS (default 60; 0 turns it off, as in tests), so a coordinator's change to
an edition shows within a minute. The registration POST always reads the database, so a cached
page can never let anyone in after a deadline.

The only personal part of these pages is the CSRF token of the visitor's session: it is cut out
of the stored HTML and a fresh one for this visitor is put back on every use. Pages are never
cached while the visitor has flashed messages waiting, which they would otherwise swallow.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app, g, request, session
from flask_wtf.csrf import generate_csrf

from courses import clock
from courses.i18n import browser_country, current_language

#: Where the visitor's CSRF token goes back in (cannot occur in HTML we render).
_TOKEN_HOLE = "\x00csrf-token\x00"
_MAX_PAGES = 512

_pages: OrderedDict[tuple, str] = OrderedDict()
_lock = threading.Lock()


def shared_page(render: Callable[[], str]) -> str:
    """The HTML `render()` gives for this URL and language, rendered at most once a period."""
    seconds = current_app.config.get("PAGE_CACHE_SECONDS", 0)
    if not seconds or session.get("_flashes"):
        return render()
    period = int(clock.now().timestamp() // seconds)
    key = (request.endpoint, request.full_path, current_language(), browser_country(), period)
    with _lock:
        stored = _pages.get(key)
        if stored is not None:
            _pages.move_to_end(key)
    if stored is not None:
        return stored.replace(_TOKEN_HOLE, generate_csrf()) if _TOKEN_HOLE in stored else stored
    html = render()
    token = g.get("csrf_token")
    stored = html.replace(token, _TOKEN_HOLE) if token else html
    with _lock:
        _pages[key] = stored
        while len(_pages) > _MAX_PAGES:
            _pages.popitem(last=False)
    return html


def clear() -> None:
    """Forget every stored page (tests; after loading course files in the same process)."""
    with _lock:
        _pages.clear()
