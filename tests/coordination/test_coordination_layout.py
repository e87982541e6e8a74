"""The back office's shape: view modules stand alone around one blueprint."""

from __future__ import annotations

import ast
from pathlib import Path

import courses.coordination

PACKAGE = Path(courses.coordination.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_view_module_imports_another():
    view_modules = sorted(PACKAGE.glob("*_views.py"))
    assert len(view_modules) >= 8
    for path in view_modules:
        others = {f"courses.coordination.{p.stem}" for p in view_modules if p != path}
        assert not _imported_modules(path) & others, path.name


def test_only_the_views_and_the_blueprint_define_routes():
    """Services never import Flask's request machinery for routes: only views register."""
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.stem.endswith("_views"):
            assert "def register(bp: Blueprint)" in text, path.name
        else:
            assert "add_url_rule" not in text and "@bp." not in text, path.name


def test_every_page_is_registered_once_per_application(app):
    endpoints = [r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("coord")]
    assert len(endpoints) == len(set(endpoints)) >= 20
    assert {"coordination.login", "coordination.enrollments", "coordination.certificates_zip"} <= (
        set(endpoints)
    )
