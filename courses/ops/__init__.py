"""Operations: database backups and privacy erasure, as `flask --app wsgi …` commands."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_migrate.cli import db as db_group

    from courses.ops.cli import backup_command, privacy_cli

    # `flask db backup PATH` sits beside Flask-Migrate's own `db upgrade`.
    db_group.add_command(backup_command)
    app.cli.add_command(privacy_cli)
