"""Background work: the `outbox work` process (mail delivery, scheduled jobs).

`loop` is the process (wake-ups, signals); `steps` lists, in one place, what it does each turn;
`schedule` runs periodic jobs exactly once per period across every worker.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Make this feature's tables known to the metadata (migrations, tests)."""
    from courses.worker import models  # noqa: F401
