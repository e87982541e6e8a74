"""Coordinators' digest: once a day (08:00, course time) or a week, what happened in their scope.

`job.py` is the worker's periodic job; `views.py` is the coordinator's own choice
(off / daily / weekly), a page of the coordinator blueprint.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Make this feature's table known (its page is added to the coordinator blueprint)."""
    from courses.digest import models  # noqa: F401 - tables known to the metadata
