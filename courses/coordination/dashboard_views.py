"""The coordinator's home (the editions in scope, with their numbers) and an edition's
dashboard, with the list of people who stopped and its CSV."""

from __future__ import annotations

import csv
import io

from babel.numbers import format_percent
from flask import Blueprint, Response, render_template
from flask_babel import gettext as _
from flask_babel import ngettext

from courses import clock
from courses.catalog.models import Edition
from courses.coordination import dashboard as charts
from courses.coordination import exports, progress, services
from courses.coordination.blueprint import PREFIX, load_edition, me, record_from_get
from courses.i18n import country_name, current_language, timezone_label
from courses.registration.questions import choice_counts

#: People listed on the page; the CSV has them all.
INACTIVE_SHOWN = 50


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/", view_func=index)
    bp.add_url_rule(PREFIX + "/dashboard", view_func=dashboard)
    bp.add_url_rule(PREFIX + "/inactive.csv", view_func=inactive_csv)


def _summary(edition: Edition) -> dict:
    stats = charts.edition_stats(me(), edition)
    steps = progress.funnel(stats.by_status)
    rate = progress.completion_rate(steps, stats.by_status)
    return {"edition": edition, "steps": steps, "rate": percent(rate)}


def index():
    editions = services.visible_editions(me())
    country = country_name(me().country) if me().country else ""
    return render_template(
        "coordination/index.html",
        editions=[_summary(edition) for edition in editions],
        country=country,
        corrections=services.pending_corrections(me()),
        manageable=services.manageable_courses(me()),
    )


def dashboard(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    now = clock.now()
    timezone = edition.course.timezone
    stats = charts.edition_stats(me(), edition)
    labels = services.status_labels()
    steps = progress.funnel(stats.by_status)
    step_labels = funnel_labels()
    country_totals = [
        (country_name(code), sum(counts.values())) for code, counts in stats.by_country.items()
    ]
    quiet = progress.inactive(me(), edition, now)
    rate = progress.completion_rate(steps, stats.by_status)
    # The course's [[questions]] with choices (gender, for example), counted within scope.
    breakdowns = choice_counts(
        edition,
        current_language(),
        _("Sin respuesta"),
        within=services.scoped_enrollment_ids(me(), edition),
    )
    return render_template(
        "coordination/dashboard.html",
        edition=edition,
        stats=stats,
        labels=labels,
        steps=steps,
        step_labels=step_labels,
        steps_by_country={
            code: progress.funnel(counts) for code, counts in stats.by_country.items()
        },
        rate=rate,
        rate_text=percent(rate),
        seats=progress.seats(edition),
        close_phrase=days_phrase(progress.days_left(edition.registration_closes, now, timezone)),
        complete_phrase=days_phrase(progress.days_left(edition.complete_by, now, timezone)),
        inactive=list(services.db_rows(quiet.limit(INACTIVE_SHOWN))),
        inactive_total=services.count_rows(quiet),
        inactive_days=progress.INACTIVE_DAYS,
        zone=timezone_label(timezone),
        country_names={code: country_name(code) for code in stats.by_country},
        funnel_steps_chart=charts.bar_chart(
            _("Personas que llegaron a cada paso"), [(step_labels[s], steps[s]) for s in steps]
        ),
        country_chart=charts.bar_chart(_("Inscritos por país"), country_totals),
        breakdowns=[
            (b, charts.bar_chart(b.label, [(c.label, c.count) for c in b.choices]))
            for b in breakdowns
        ],
        day_chart=charts.day_chart(_("Inscripciones por día"), stats.per_day),
        funnel_chart=charts.bar_chart(
            _("Personas que completaron cada módulo"),
            [(_("Módulo %(n)s", n=n), count) for n, count in stats.funnel],
        ),
    )


def percent(rate: float | None) -> str:
    return format_percent(rate, locale=current_language()) if rate is not None else ""


def days_phrase(days: int | None) -> str:
    """ "faltan 12 días", "hoy es el último día", "terminó hace 3 días"."""
    if days is None:
        return ""
    if days == 0:
        return _("hoy es el último día")
    if days > 0:
        return ngettext("falta %(num)s día", "faltan %(num)s días", days)
    return ngettext("terminó hace %(num)s día", "terminó hace %(num)s días", -days)


def funnel_labels() -> dict[str, str]:
    return {
        "registered": _("Se inscribieron"),
        "opened": _("Abrieron su enlace"),
        "started": _("Empezaron"),
        "completed": _("Completaron"),
        "certified": _("Tienen certificado"),
    }


def inactive_csv(course_slug: str, edition_slug: str):
    """Everyone on the "did nothing for 14 days" list, with their contact, for a phone round."""
    edition = load_edition(course_slug, edition_slug)
    now = clock.now()
    quiet = progress.inactive(me(), edition, now)
    people = list(services.db_rows(quiet))
    record_from_get(
        "export.inactive",
        f"edition:{edition.id}",
        course=edition.course.slug,
        edition=edition.slug,
        rows=len(people),
    )
    zone = timezone_label(edition.course.timezone)
    formatter = exports.RowFormatter(edition)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            _("ID"),
            _("Nombre"),
            _("Correo electrónico"),
            _("Teléfono"),
            _("País"),
            _("Organización"),
            _("Última actividad (%(zone)s)", zone=zone),
        ]
    )
    for person, last in people:
        writer.writerow(
            [
                str(person.id),
                exports.neutralise(person.name),
                exports.neutralise(person.email),
                exports.neutralise(person.phone),
                formatter.country(person.country),
                exports.neutralise(person.organization),
                formatter.text_time(last),
            ]
        )
    name = exports.file_name(edition, now, "csv").replace(".csv", "_sin_actividad.csv")
    return Response(
        buffer.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
