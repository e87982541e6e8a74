"""A course file uploaded from the browser: what it would change, then applied as the CLI does.

The text is checked by the same loader as `flask courses load` (it is written to a private
temporary directory under its own name, so problems name the file the person chose) and applied
by the same upsert, all or nothing. The preview is computed from the same checked file, so what
it lists is what applying does.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from courses.catalog import upsert
from courses.catalog.checker import CourseFileError, Problem
from courses.catalog.loader import COURSE_KEYS, CourseSpec, read_course_files
from courses.catalog.models import Course
from courses.extensions import db

#: Course files are small (the bundled one is 10 KB); anything larger is not one.
MAX_BYTES = 256 * 1024


@dataclass
class EditionChange:
    slug: str
    new: bool
    #: {field: (before, after)} for an existing edition.
    fields: dict[str, tuple[object, object]] = field(default_factory=dict)
    after: dict[str, object] = field(default_factory=dict)


@dataclass
class CoursePreview:
    """What applying a course file would do to the database."""

    slug: str
    title: dict
    timezone: str
    created: bool
    new_modules: list[tuple[int, dict]] = field(default_factory=list)
    renamed_modules: list[tuple[int, dict, dict]] = field(default_factory=list)
    removed_modules: list[int] = field(default_factory=list)
    editions: list[EditionChange] = field(default_factory=list)
    #: Other course settings that change (title, countries, completion…), by key.
    settings: list[str] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.created
            or self.new_modules
            or self.renamed_modules
            or self.removed_modules
            or self.editions
            or self.settings
        )


def _safe_name(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(filename or "").name).strip(".-")
    return name or "curso.toml"


def read_uploaded(data: bytes, filename: str) -> CourseSpec:
    """The checked spec of one uploaded file; CourseFileError names the file, key and reason."""
    name = _safe_name(filename)
    if len(data) > MAX_BYTES:
        raise CourseFileError([Problem(name, "(file)", f"larger than {MAX_BYTES // 1024} KB")])
    with tempfile.TemporaryDirectory(prefix="course-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            [spec] = read_course_files([path])
        except CourseFileError as error:
            raise CourseFileError(
                [Problem(name, p.key, p.reason) for p in error.problems]
            ) from None
    spec.file = name
    return spec


#: The preview lists modules and editions one by one, and the slug names the course; every other
#: key of a course file is a course setting, named when it changes.
_SETTINGS = tuple(key for key in COURSE_KEYS if key not in {"slug", "modules", "editions"})
_EDITION_KEYS = ("name", "registration_opens", "registration_closes", "complete_by", "capacity")


def preview(spec: CourseSpec) -> CoursePreview:
    """Compare a checked file with the database, changing nothing."""
    course = db.session.scalar(select(Course).where(Course.slug == spec.slug))
    result = CoursePreview(spec.slug, spec.title, spec.timezone, created=course is None)
    modules = {m.position: m for m in course.modules} if course else {}
    for module in spec.modules:
        existing = modules.get(module.position)
        if existing is None:
            result.new_modules.append((module.position, module.title))
        elif existing.title != module.title:
            result.renamed_modules.append((module.position, existing.title, module.title))
    result.removed_modules = sorted(p for p in modules if p > len(spec.modules))
    editions = {e.slug: e for e in course.editions} if course else {}
    for edition in spec.editions:
        after = {key: getattr(edition, key) for key in _EDITION_KEYS}
        existing = editions.get(edition.slug)
        if existing is None:
            result.editions.append(EditionChange(edition.slug, True, after=after))
            continue
        changed = {
            key: (getattr(existing, key), value)
            for key, value in after.items()
            if getattr(existing, key) != value
        }
        if changed:
            result.editions.append(EditionChange(edition.slug, False, changed, after))
    if course is not None:
        result.settings = [key for key in _SETTINGS if getattr(course, key) != getattr(spec, key)]
    return result


def apply(spec: CourseSpec, data: bytes) -> upsert.LoadResult:
    """Load the file exactly as the CLI does and keep its text; flush only (caller commits).

    Raises CourseFileError (nothing is changed once the caller rolls back)."""
    [result] = upsert.load_courses([spec])
    course = db.session.scalar(select(Course).where(Course.slug == spec.slug))
    course.source_toml = data.decode("utf-8")
    db.session.flush()
    return result
