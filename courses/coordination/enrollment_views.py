"""An edition's enrollee list and its CSV and XLSX exports (same scope, filters and order)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, stream_with_context

from courses import clock
from courses.catalog.models import Edition
from courses.certificates.codes import format_code
from courses.coordination import exports, listing, services
from courses.coordination.blueprint import PREFIX, load_edition, me, record_from_get
from courses.i18n import country_name


def register(bp: Blueprint) -> None:
    bp.add_url_rule(PREFIX + "/enrollments", view_func=enrollments)
    bp.add_url_rule(PREFIX + "/enrollments.csv", view_func=export_csv)
    bp.add_url_rule(PREFIX + "/enrollments.xlsx", view_func=export_xlsx)


def _list_context(edition: Edition, filters: listing.ListFilters) -> dict:
    stmt = listing.filtered(me(), edition, filters)
    total = listing.count(stmt)
    pages = max(1, -(-total // listing.PAGE_SIZE))
    countries = edition.course.countries if me().role != "country" else [me().country]
    return {
        "edition": edition,
        "course": edition.course,
        "filters": filters,
        "rows": listing.page(stmt, min(filters.page, pages)),
        "total": total,
        "pages": pages,
        "current_page": min(filters.page, pages),
        "modules_total": len(edition.course.modules),
        "status_labels": services.status_labels(),
        "countries": [(code, country_name(code)) for code in countries],
        "format_code": format_code,
        "tz": edition.course.timezone,
    }


def enrollments(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    filters = listing.ListFilters.from_args(request.args)
    return render_template("coordination/enrollments.html", **_list_context(edition, filters))


def _audit_export(edition: Edition, kind: str, filters: listing.ListFilters, rows: int) -> None:
    record_from_get(
        f"export.{kind}",
        f"edition:{edition.id}",
        course=edition.course.slug,
        edition=edition.slug,
        filters=filters.described(),
        rows=rows,
    )


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


def export_csv(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    filters = listing.ListFilters.from_args(request.args)
    stmt = listing.filtered(me(), edition, filters)
    _audit_export(edition, "csv", filters, listing.count(stmt))
    delimiter = ";" if request.args.get("sep") == "semicolon" else ","
    name = exports.file_name(edition, clock.now(), "csv")
    formatter = exports.RowFormatter(edition)
    return Response(
        stream_with_context(exports.csv_chunks(stmt, formatter, delimiter)),
        mimetype="text/csv",
        headers=_attachment(name),
    )


def export_xlsx(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    filters = listing.ListFilters.from_args(request.args)
    stmt = listing.filtered(me(), edition, filters)
    _audit_export(edition, "xlsx", filters, listing.count(stmt))
    spool = exports.spooled_xlsx(stmt, exports.RowFormatter(edition))
    name = exports.file_name(edition, clock.now(), "xlsx")
    return Response(
        exports.file_chunks(spool),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_attachment(name),
    )
