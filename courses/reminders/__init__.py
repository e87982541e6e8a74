"""Reminders: participants told, by the worker, how many modules they still have to complete.

The rules (`rules.py`) decide who gets which reminder on which day, with `now` passed in; the
job (`job.py`) runs them once a day per edition in the course's time zone; every reminder
carries a one-click way to stop them (`views.py`, RFC 8058), honoured at once.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the stop-reminders page and make this feature's table known."""
    from courses.reminders import models  # noqa: F401 - tables known to the metadata
    from courses.reminders.views import bp

    app.register_blueprint(bp)
