"""Online backup of the embedded SQLite database, safe while the application keeps writing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """Why a backup was refused, in plain words."""


def sqlite_path(database_uri: str) -> Path:
    """The file behind a SQLite URL; refuses other databases with the right tool to use."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            f"The database is {url.get_backend_name()}, not SQLite: back it up with its own "
            "tools (for PostgreSQL: pg_dump --format=custom, see docs/deploy.md)."
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("The database is in memory; there is no file to back up.")
    path = Path(url.database)
    if not path.exists():
        raise BackupError(f"No database file at {path}.")
    return path


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy `source` to `target` with SQLite's online backup API; returns the page count.

    The copy is one consistent snapshot (a read transaction; in WAL mode writers are not
    held up). It is written beside the target and renamed, so a half-written file never
    carries the target's name; then checked with PRAGMA integrity_check.
    """
    target = target.resolve()
    if target == source.resolve():
        raise BackupError("The backup would overwrite the database itself.")
    if not target.parent.is_dir():
        raise BackupError(f"No folder {target.parent}.")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)
        # A backup is one file: no WAL beside it, so it can be copied or restored as it is.
        dst.execute("PRAGMA journal_mode=DELETE")
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"The copy failed its integrity check: {check}")
    os.replace(partial, target)
    return pages
