"""Mail feature: the outbox, its delivery (by the worker), and the development mailbox."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this feature's blueprint and `outbox` commands (web processes never deliver)."""
    from courses.mail import models  # noqa: F401 - tables known to the metadata
    from courses.mail.cli import outbox_cli
    from courses.mail.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(outbox_cli)
