"""The audit log, read by admins: every coordinator action and every export, newest first."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, request

from courses.coordination import audit as log
from courses.coordination.blueprint import me, require_admin
from courses.i18n import format_moment, timezone_label


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit", view_func=audit)


def audit():
    require_admin()
    filters = log.AuditFilters.from_args(request.args)
    timezone = log.zone_for(me())
    entries, has_more = log.page(filters, timezone)
    return render_template(
        "coordination/audit.html",
        rows=[
            (
                entry,
                text,
                format_moment(entry.at, timezone),
                # Readable details: names as written, never \\u escapes.
                json.dumps(entry.details or {}, ensure_ascii=False, sort_keys=True),
            )
            for entry, text in log.described(entries)
        ],
        has_more=has_more,
        filters=filters,
        kinds=log.kind_labels(),
        zone=timezone_label(timezone),
    )
