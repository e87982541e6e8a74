"""Messages that differ only in whom they go to, rendered once per process as a frame.

Every registration's confirmation is the same message but for the person's name and personal
link: the course, the edition, the modules, the contacts and every translated sentence repeat.
Rendering its two templates was a fifth of a registration POST's CPU, inside the web worker,
on the path a launch-day burst takes. A frame is the message rendered with a marker in place of
each personal value; a message is then its frame with the values put in, escaped for the HTML
part as Jinja escapes them (and cleaned as Jinja's `finalize` cleans every value shown).

A frame is keyed by the template, the language and every other value of the context, so a
course edited since gets a new frame (there is nothing to invalidate), and it holds no personal
data: only what every participant of an edition receives. Templates rendered this way may show
a personal value only as it is (`{{ name }}`, or as a `_()` argument), never through a filter:
tests/mail/test_frames.py renders every such template both ways and compares.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence

from cachetools import LRUCache
from flask import current_app
from markupsafe import escape

from courses.mail.services import Rendered, render_email

#: Frames kept per app: one per (template, language, edition's values) in use at once.
MAX_FRAMES = 256
#: A marker is a private-use character pair: finalize (site: printable) keeps it, markupsafe
#: does not escape it, and a value put in is never searched for markers again.
_MARK = "\ue000{}\ue001"
_MARKS = re.compile("\ue000([a-z_]+)\ue001")
#: An LRU cache reorders itself on every read: one thread at a time (the development server
#: and threaded workers serve requests side by side).
_LOCK = threading.Lock()


def render_personal(
    template: str, language: str, context: dict, personal: Sequence[str] = ("name", "link")
) -> Rendered:
    """What `render_email(template, language, context)` gives, from a frame shared by every
    message whose context differs only in the `personal` keys."""
    shared = {key: value for key, value in context.items() if key not in personal}
    key = (template, language, tuple(personal), json.dumps(shared, sort_keys=True, default=str))
    with _LOCK:
        frames = current_app.extensions.setdefault("mail_frames", LRUCache(maxsize=MAX_FRAMES))
        frame = frames.get(key)
    if frame is None:
        marked = {**shared, **{name: _MARK.format(name) for name in personal}}
        frame = render_email(template, language, marked)  # outside the lock: it may take a while
        with _LOCK:
            frames[key] = frame
    # As Jinja shows a value: through the environment's finalize (site: printable) first.
    finalize = current_app.jinja_env.finalize or str
    values = {name: str(finalize(context[name])) for name in personal}
    escaped = {name: str(escape(value)) for name, value in values.items()}
    subject, text, html = frame
    return (
        _fill(subject, values),
        _fill(text, values),
        _fill(html, escaped) if html is not None else None,
    )


def _fill(part: str, values: dict[str, str]) -> str:
    # One pass over the frame: a value put in is never searched for markers itself.
    return _MARKS.sub(lambda found: values[found.group(1)], part)
