"""The current instant, in one place, so tests can put the clock before or after a deadline.

Services take `now` as an argument; views get it from here. Only the testing configuration
honours a fixed instant (`app.config["FIXED_NOW"]`).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context

from courses.database import utcnow


def now() -> datetime:
    """The current instant (aware, UTC), or the fixed one set by a test."""
    if has_app_context() and current_app.testing:
        fixed = current_app.config.get("FIXED_NOW")
        if fixed is not None:
            return fixed
    return utcnow()
