"""The coordinator's home (the editions in scope) and an edition's dashboard."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from courses.coordination import dashboard as charts
from courses.coordination import services
from courses.coordination.blueprint import PREFIX, load_edition, me
from courses.i18n import country_name


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/", view_func=index)
    bp.add_url_rule(PREFIX + "/dashboard", view_func=dashboard)


def index():
    editions = services.visible_editions(me())
    country = country_name(me().country) if me().country else ""
    return render_template("coordination/index.html", editions=editions, country=country)


def dashboard(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    stats = charts.edition_stats(me(), edition)
    labels = services.status_labels()
    country_totals = [
        (country_name(code), sum(counts.values())) for code, counts in stats.by_country.items()
    ]
    return render_template(
        "coordination/dashboard.html",
        edition=edition,
        stats=stats,
        labels=labels,
        country_names={code: country_name(code) for code in stats.by_country},
        country_chart=charts.bar_chart(_("Inscritos por país"), country_totals),
        status_chart=charts.bar_chart(
            _("Inscritos por estado"), [(labels[s], n) for s, n in stats.by_status.items()]
        ),
        day_chart=charts.day_chart(_("Inscripciones por día"), stats.per_day),
        funnel_chart=charts.bar_chart(
            _("Personas que completaron cada módulo"),
            [(_("Módulo %(n)s", n=n), count) for n, count in stats.funnel],
        ),
    )
