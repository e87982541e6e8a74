"""The export's joined modules and certificates against the list's own per-person facts, and
its local times against the zone conversion they replace."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from courses.catalog.models import Edition
from courses.coordination import exports, listing, services
from courses.coordination.models import Coordinator
from courses.extensions import db
from courses.participants.models import ModuleCompletion
from courses.registration.models import Enrollment
from tests.factories import (
    NOW,
    login_new,
    make_certificate,
    make_course,
    make_enrollment,
    numbered_modules,
)

BASE = "/coordinator/pesca-acuicultura/2023/enrollments"
FILTERS = ["", "?status=in_progress", "?status=certified", "?country=PE", "?sort=-name", "?q=ana"]


def _done(enrollment: Enrollment, module_id: int, at: datetime) -> None:
    db.session.add(
        ModuleCompletion(
            enrollment_id=enrollment.id, module_id=module_id, source="self", completed_at=at
        )
    )
    db.session.flush()


@pytest.fixture
def edition(app) -> int:
    """People whose modules, certificates and states the export must get as the list does."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        other = make_course("otra", modules=2, edition_slug="2024")
        edition = make_course(modules=3, module_titles=numbered_modules(3))
        edition.course.questions = [
            {
                "key": "boat",
                "label": {"es": "Bote"},
                "kind": "text",
                "choices": [],
                "required": False,
            }
        ]
        first, second, third = (m.id for m in edition.course.modules)
        ana = make_enrollment(edition, "Ana Tercera Primero", country="PE")
        ana.answers = {"boat": "=Esperanza"}
        _done(ana, third, NOW - timedelta(days=3, minutes=7))  # the last module first
        _done(ana, first, NOW - timedelta(days=1, minutes=31))
        make_enrollment(edition, "Beto Sin Módulos", confirmed=True)
        carla = make_enrollment(edition, "Carla Reemitida")
        for module_id in (second, first, third):
            _done(carla, module_id, NOW - timedelta(hours=module_id))
        make_certificate(carla, code="OLDER23456", revoked_at=NOW)
        make_certificate(carla, code="NEWER23456", generation=2)
        dora = make_enrollment(edition, "Dora Sin Válido")
        _done(dora, second, NOW)
        make_certificate(dora, code="GONEX23456", revoked_at=NOW)
        # A completion of another course's module: counted as the list counts it, in no column.
        eva = make_enrollment(edition, "Eva Otro Curso", country="PE")
        _done(eva, other.course.modules[0].id, NOW)
        gina = make_enrollment(edition, "Gina Dos Válidos")  # the latest one counts
        make_certificate(gina, code="FIRST23456")
        make_certificate(gina, code="LATER23456", generation=2)
        waiting = make_enrollment(edition, "Fabián Espera", waiting=True)
        _done(waiting, first, NOW)
        outsider = make_enrollment(other, "Ana De Otra Edición")
        _done(outsider, other.course.modules[1].id, NOW)
        make_certificate(outsider, code="OTHER23456")
        db.session.commit()
        return edition.id


def _csv(client, url: str) -> list[list[str]]:
    data = client.get(url).get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(data, newline="")))


def _expected(app, edition_id: int, query: str) -> list[list[str]]:
    """Each row's id, done, code, state and module days from the list's query and the ORM."""
    with app.test_request_context(BASE + query):
        edition = db.session.get(Edition, edition_id)
        coordinator = db.session.scalar(select(Coordinator).where(Coordinator.role == "admin"))
        filters = listing.ListFilters.from_args(dict(
            pair.split("=") for pair in query.lstrip("?").split("&") if pair
        ))  # fmt: skip
        stmt = listing.filtered(coordinator, edition, filters)
        labels = services.status_labels()
        tz = ZoneInfo(edition.course.timezone)
        expected = []
        for row in db.session.execute(listing.rows(stmt)):
            days = dict(
                db.session.execute(
                    select(ModuleCompletion.module_id, ModuleCompletion.completed_at).where(
                        ModuleCompletion.enrollment_id == row.id
                    )
                ).all()
            )
            code = row.certificate_code
            expected.append(
                [str(row.id), str(row.modules_done)]
                + [f"{code[:5]}-{code[5:]}" if code else "", labels[row.status]]
                + [
                    days[m.id].astimezone(tz).strftime("%Y-%m-%d %H:%M") if m.id in days else ""
                    for m in edition.course.modules
                ]
            )
        return expected


@pytest.mark.parametrize("query", FILTERS)
def test_export_gives_each_person_the_lists_modules_certificate_and_state(
    app, edition, client, query
):
    login_new(app, client)
    rows = _csv(client, BASE + ".csv" + query)
    got = [[row[0], row[9], row[12], row[13], *row[14:17]] for row in rows[1:]]
    assert got == _expected(app, edition, query)
    assert got, "every filter here matches somebody"
    assert all(row[17] in ("", "'=Esperanza") for row in rows[1:])  # the question, last
    assert not any("Otra Edición" in row[1] for row in rows[1:])


def test_export_rows_of_the_tricky_people(app, edition, client):
    login_new(app, client)
    by_name = {row[1]: row for row in _csv(client, BASE + ".csv")[1:]}
    assert set(by_name) == {
        "Ana Tercera Primero",
        "Beto Sin Módulos",
        "Carla Reemitida",
        "Dora Sin Válido",
        "Eva Otro Curso",
        "Fabián Espera",
        "Gina Dos Válidos",
    }
    ana = by_name["Ana Tercera Primero"]
    assert ana[9] == "2" and ana[13] == "En curso" and ana[17] == "'=Esperanza"
    assert ana[14:17] == ["2023-07-09 10:29", "", "2023-07-07 10:53"]
    assert by_name["Beto Sin Módulos"][9:17] == ["0", "3", "", "", "Correo confirmado"] + [""] * 3
    assert by_name["Carla Reemitida"][12:14] == ["NEWER-23456", "Con certificado"]
    assert by_name["Dora Sin Válido"][12:14] == ["", "Completó"]
    assert by_name["Eva Otro Curso"][9] == "1" and by_name["Eva Otro Curso"][14:17] == [""] * 3
    assert by_name["Eva Otro Curso"][13] == "En curso"
    assert by_name["Fabián Espera"][13] == "Lista de espera"
    assert by_name["Gina Dos Válidos"][12:14] == ["LATER-23456", "Con certificado"]
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(BASE + ".xlsx").get_data())).active
    cells = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells["Ana Tercera Primero"][14:17] == (
        datetime(2023, 7, 9, 10, 29),
        None,
        datetime(2023, 7, 7, 10, 53),
    )
    assert cells["Carla Reemitida"][12] == "NEWER-23456"


ZONES = [
    "America/Santiago",  # whole hours, changes at 04:00 UTC
    "Europe/London",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 / -02:30
    "Australia/Lord_Howe",  # a change of half an hour
    "America/Moncton",  # whole hours, but changed at 00:01 local (04:01 UTC) until 2006
    "UTC",
]


@pytest.mark.parametrize("zone", ZONES)
def test_text_time_is_the_zone_conversion_at_every_minute_shape(app, zone):
    with app.test_request_context():
        edition = make_course(modules=1, module_titles=numbered_modules(1))
        edition.course.timezone = zone
        formatter = exports.RowFormatter(edition)
    tz = ZoneInfo(zone)
    # A year each side of 2006 every 23 min 17 s (so every minute of an hour in turn), and the
    # last microsecond of each hour of a day before time zones (an offset of seconds).
    steps = [timedelta(minutes=23, seconds=17, microseconds=7) * n for n in range(23_000)]
    edges = [timedelta(hours=h, minutes=59, seconds=59, microseconds=999_999) for h in range(24)]
    instants = [datetime(year, 1, 1) + step for year in (2005, 2025) for step in steps]
    instants += [datetime(1890, 5, 1) + edge for edge in edges]
    for instant in instants:
        expected = instant.replace(tzinfo=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        assert formatter.text_time(instant) == expected, instant
        assert formatter.text_time(instant.replace(tzinfo=UTC)) == expected, instant
    assert formatter.text_time(None) == ""
