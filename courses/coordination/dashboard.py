"""Numbers for an edition's dashboard and the SVG charts drawn from them on the server.

Charts use only SVG presentation attributes (fill, x, width…), never `style`, so they pass the
Content-Security-Policy; each has a title and the same numbers are shown in a table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy import func, select

from courses.catalog.models import Edition, Module
from courses.coordination.models import Coordinator
from courses.coordination.services import STATUSES, scoped_enrollments, status_expression
from courses.extensions import db
from courses.participants.models import ModuleCompletion
from courses.registration.models import Enrollment

BAR = "#0b57a4"
TEXT = "#1b2430"
# Drawn for a phone's width: the SVG scales to the card, so its text stays readable at 360 px
# (the stylesheet caps how wide it grows on a desktop).
WIDTH = 360


@dataclass
class Stats:
    #: {country: {status: count}}
    by_country: dict[str, dict[str, int]]
    by_status: dict[str, int]
    per_day: list[tuple[date, int]]
    #: (module number, people who completed it)
    funnel: list[tuple[int, int]]
    total: int


def edition_stats(coordinator: Coordinator, edition: Edition) -> Stats:
    """Counts for what this coordinator may see of `edition`."""
    scoped = scoped_enrollments(coordinator, edition)
    status = status_expression()
    grouped = db.session.execute(
        scoped.with_only_columns(
            Enrollment.country, status, func.count(), maintain_column_froms=True
        )
        .group_by(Enrollment.country, status)
        .order_by(Enrollment.country)
    )
    by_country: dict[str, dict[str, int]] = {}
    by_status = dict.fromkeys(STATUSES, 0)
    for country, state, number in grouped:
        by_country.setdefault(country, dict.fromkeys(STATUSES, 0))[state] = number
        by_status[state] += number

    tz = ZoneInfo(edition.course.timezone)
    days: Counter[date] = Counter()
    created = db.session.execute(
        scoped.with_only_columns(
            Enrollment.created_at, maintain_column_froms=True
        ).execution_options(yield_per=2000)
    )
    for (instant,) in created:
        days[instant.astimezone(tz).date()] += 1

    ids = scoped.with_only_columns(Enrollment.id, maintain_column_froms=True).scalar_subquery()
    done = dict(
        db.session.execute(
            select(Module.position, func.count(ModuleCompletion.id))
            .join(ModuleCompletion, ModuleCompletion.module_id == Module.id)
            .where(ModuleCompletion.enrollment_id.in_(ids))
            .group_by(Module.position)
        ).all()
    )
    funnel = [(m.position, done.get(m.position, 0)) for m in edition.course.modules]
    return Stats(by_country, by_status, sorted(days.items()), funnel, sum(by_status.values()))


def bar_chart(title: str, items: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per (label, value)."""
    row, label_width = 28, 170
    height = row * len(items) + 10
    top = max((value for _, value in items), default=0) or 1
    scale = (WIDTH - label_width - 60) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(items):
        y = 5 + index * row
        length = round(value * scale, 1)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 18}" text-anchor="end" font-size="15" '
            f'fill="{TEXT}">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="{row - 8}" '
            f'fill="{BAR}"/>'
            f'<text x="{label_width + length + 6}" y="{y + 18}" font-size="15" '
            f'fill="{TEXT}">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def day_chart(title: str, days: list[tuple[date, int]]) -> Markup:
    """Columns, one per day with registrations, first and last day labelled."""
    height, bottom, left = 220, 30, 40
    top = max((value for _, value in days), default=0) or 1
    step = (WIDTH - left - 10) / max(len(days), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{left - 6}" y="16" text-anchor="end" font-size="14" fill="{TEXT}">{top}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 10}" y2="{height - bottom}" '
        f'stroke="{TEXT}"/>',
    ]
    usable = height - bottom - 10
    for index, (day, value) in enumerate(days):
        bar = round(value / top * usable, 1)
        x = round(left + index * step, 1)
        parts.append(
            f'<rect x="{x}" y="{round(height - bottom - bar, 1)}" '
            f'width="{max(round(step * 0.8, 1), 1)}" height="{bar}" fill="{BAR}">'
            f"<title>{day.isoformat()}: {value}</title></rect>"
        )
    if days:
        parts.append(
            f'<text x="{left}" y="{height - 8}" font-size="14" fill="{TEXT}">'
            f"{days[0][0].isoformat()}</text>"
        )
    if len(days) > 1:  # one day needs one label, not "2026-12-01 … 2026-12-01"
        parts.append(
            f'<text x="{WIDTH - 10}" y="{height - 8}" text-anchor="end" font-size="14" '
            f'fill="{TEXT}">{days[-1][0].isoformat()}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
