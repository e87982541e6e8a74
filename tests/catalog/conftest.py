"""Fixtures for the catalogue tests: course files on disk and loading them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.catalog.catalog_helpers import EXAMPLE


@pytest.fixture
def course_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a course file (default: EXAMPLE) and return its path."""
    counter = iter(range(1000))

    def write(text: str = EXAMPLE, name: str | None = None) -> Path:
        path = tmp_path / (name or f"course{next(counter)}.toml")
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def load(runner):
    """Run `courses load PATH…` and return the click result."""

    def run(*paths: Path):
        return runner.invoke(args=["courses", "load", *map(str, paths)])

    return run
