"""A fresh database for the benchmark: the real migrations and CLI, then 100,000 enrollments.

The schema comes from `flask db upgrade`, the course from `courses load` + `courses demo` (the
public CLI); the enrollments are bulk-inserted with SQLAlchemy core executemany (seconds, not
minutes), with valid data: unique e-mails, E.164 phones, the course's countries, personal-link
salts and hashes derived with the bench SECRET_KEY, some progress, completions and certificates
(issued through the certificates service, so their codes are real).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]

FIRST = [
    "María",
    "José",
    "Juan",
    "Ana",
    "Luis",
    "Rosa",
    "Carlos",
    "Carmen",
    "Jorge",
    "Lucía",
    "Pedro",
    "Marta",
    "Víctor",
    "Elena",
    "Raúl",
    "Sofía",
    "Andrés",
    "Paola",
    "Óscar",
    "Inés",
]
LAST = [
    "González",
    "Muñoz",
    "Rojas",
    "Díaz",
    "Pérez",
    "Soto",
    "Contreras",
    "Silva",
    "Martínez",
    "Sepúlveda",
    "García",
    "Rodríguez",
    "López",
    "Hernández",
    "Quispe",
    "Flores",
    "Mamani",
    "Ramírez",
    "Torres",
    "Castillo",
]
ORGS = [
    "Sindicato de Pescadores de {}",
    "Cooperativa Pesquera {}",
    "Asociación de Acuicultores de {}",
    "Caleta {}",
    "Pesca Artesanal {} Ltda.",
    "-Independiente-",
    "=Sin organización",
]
PLACES = [
    "Coquimbo",
    "Tumaco",
    "Ensenada",
    "Paita",
    "Chiloé",
    "Buenaventura",
    "Mazatlán",
    "Chimbote",
    "Talcahuano",
    "Cartagena",
    "La Paz",
    "Ilo",
]
DOMAINS = ["gmail.com", "hotmail.com", "yahoo.es", "outlook.com", "correo.cl"]
#: Phone patterns that `phonenumbers` accepts as valid mobiles, per country.
PHONES = {"CL": "+5698{:07d}", "CO": "+57300{:07d}", "MX": "+5255{:08d}", "PE": "+519{:08d}"}


@dataclass
class Seeded:
    """What the load scenarios need from the filled database."""

    course_slug: str
    edition_slug: str
    edition_id: int
    enrollments: int
    #: Personal-link tokens of confirmed enrollments (mixed progress).
    my_tokens: list[str] = field(default_factory=list)
    #: Tokens of enrollments holding a certificate.
    certified_tokens: list[str] = field(default_factory=list)
    #: Verification codes, as printed (format_code) when available.
    codes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def flask_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    """Run `flask --app wsgi ARGS…`; return code and output."""

    started = time.monotonic()
    result = subprocess.run(
        [*FLASK, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
    )
    print(f"  flask {' '.join(args[:2])}: {time.monotonic() - started:.1f} s", flush=True)
    return result.returncode, result.stdout + result.stderr


def reason(output: str) -> str:
    """The lines of a failed command worth quoting in the report."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return " / ".join(lines[-3:])[:300]


def prepare_schema(env: dict[str, str], notes: list[str]) -> None:
    """Migrate and load the bundled catalogue plus the open demo edition through the CLI."""
    code, out = flask_cli(["db", "upgrade"], env)
    if code:
        raise RuntimeError(f"flask db upgrade failed:\n{out}")
    files = sorted(str(p) for p in (ROOT / "courses" / "catalog").glob("*.toml"))
    code, out = flask_cli(["courses", "load", *files], env) if files else (1, "no course files")
    if code:
        notes.append(f"`courses load` unavailable or failed: {reason(out)}")
    code, out = flask_cli(["courses", "demo"], env)
    if code:
        notes.append(f"`courses demo` unavailable or failed: {reason(out)}")


def _fallback_edition(now: datetime):
    """Without the catalogue CLI: a course and an open edition inserted directly."""
    from courses.catalog.models import Course, Edition, Module
    from courses.extensions import db

    course = Course(
        slug="bench-course",
        title={"es": "Curso de prueba de carga"},
        description={"es": "Solo para el benchmark."},
        organizers=["Bench"],
        timezone="America/Santiago",
        completion="self",
        countries=list(PHONES),
    )
    for position in range(1, 7):
        course.modules.append(Module(position=position, title={"es": f"Módulo {position}"}))
    edition = Edition(course=course, slug="bench", registration_closes=now + timedelta(days=42))
    db.session.add_all([course, edition])
    db.session.flush()
    return edition


def _target_edition(now: datetime, notes: list[str]):
    """The open demo edition when `courses demo` made one, else any open edition, else ours."""
    from courses.catalog.models import Edition
    from courses.extensions import db

    edition = db.session.scalar(select(Edition).where(Edition.slug == "demo"))
    if edition is None:
        edition = db.session.scalar(select(Edition).where(Edition.is_open(now)))
    if edition is None:
        notes.append("no open edition from the CLI: inserted a bench course directly")
        edition = _fallback_edition(now)
    return edition


def _rows(n: int, edition, countries: list[str], now: datetime, version: str) -> list[dict]:
    from courses.registration.tokens import hash_token, new_salt, token_for

    rng = random.Random(20230721)
    capacity = edition.capacity or 0
    rows = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country = countries[i % len(countries)]
        digits = rng.randrange(10 ** (8 if PHONES[country].endswith("08d}") else 7))
        created = now - timedelta(days=30) + timedelta(seconds=i * 25)
        salt = new_salt()
        email = f"{_ascii(first)}.{_ascii(last)}.{i}@{DOMAINS[i % len(DOMAINS)]}"
        registered = capacity == 0 or i < capacity
        rows.append(
            {
                "edition_id": edition.id,
                "name": f"{first} {last}",
                "email": email,
                "email_key": email.lower(),
                "phone": PHONES[country].format(digits),
                "country": country,
                "organization": rng.choice(ORGS).format(rng.choice(PLACES)),
                "status": "registered" if registered else "waiting",
                "seat": (i + 1) if capacity and registered else None,
                "locale": "en" if i % 10 == 9 else "es",
                "token_salt": salt,
                "token_hash": hash_token(token_for(salt)),
                "consent_at": created,
                "privacy_version": version,
                "created_at": created,
                "confirmed_at": created + timedelta(hours=2) if i % 5 else None,
            }
        )
    return rows


def _ascii(text: str) -> str:
    table = str.maketrans("áéíóúÁÉÍÓÚñÑ", "aeiouAEIOUnN")
    return text.translate(table).lower()


def fill(app, n: int, now: datetime, certified: int = 2000, sample: int = 2000) -> Seeded:
    """Insert `n` enrollments into the open edition; complete and certify `certified` of them."""
    from courses.catalog.models import Module
    from courses.extensions import db
    from courses.participants.models import ModuleCompletion
    from courses.registration.models import Enrollment
    from courses.registration.tokens import token_for

    notes: list[str] = []
    with app.app_context():
        edition = _target_edition(now, notes)
        course = edition.course
        countries = [c for c in course.countries if c in PHONES] or list(PHONES)
        rows = _rows(n, edition, countries, now, app.config["PRIVACY_NOTICE_VERSION"])
        started = time.monotonic()
        db.session.execute(insert(Enrollment.__table__), rows)
        print(f"  {n} enrollments inserted in {time.monotonic() - started:.1f} s", flush=True)
        ids = db.session.execute(
            select(Enrollment.id, Enrollment.token_salt, Enrollment.confirmed_at)
            .where(Enrollment.edition_id == edition.id, Enrollment.status == "registered")
            .order_by(Enrollment.id)
        ).all()
        modules = db.session.scalars(
            select(Module.id).where(Module.course_id == course.id).order_by(Module.position)
        ).all()
        completions = []
        done_ids = [row.id for row in ids[: min(certified, len(ids))]]
        for position, row in enumerate(ids[: len(ids) // 4]):
            # The first `certified` did every module; the rest of this quarter did some.
            count = (
                len(modules)
                if position < len(done_ids)
                else 1 + position % max(1, len(modules) - 1)
            )
            completions += [
                {
                    "enrollment_id": row.id,
                    "module_id": m,
                    "source": "self",
                    "completed_at": now - timedelta(days=1),
                }
                for m in modules[:count]
            ]
        if completions:
            db.session.execute(insert(ModuleCompletion.__table__), completions)
        db.session.execute(
            update(Enrollment)
            .where(Enrollment.id.in_(done_ids))
            .values(completed_at=now - timedelta(days=1))
        )
        db.session.commit()
        seeded = Seeded(course.slug, edition.slug, edition.id, n, notes=notes)
        rng = random.Random(7)
        confirmed = [row for row in ids if row.confirmed_at is not None]
        seeded.my_tokens = [
            token_for(row.token_salt) for row in rng.sample(confirmed, min(sample, len(confirmed)))
        ]
        started = time.monotonic()
        _certify(seeded, done_ids, now)
        print(f"  {len(seeded.codes)} certificates issued in {time.monotonic() - started:.1f} s")
        _ordinary_day(seeded, now)
        total = db.session.scalar(select(func.count()).select_from(Enrollment))
        seeded.notes.append(
            f"{total} enrollments, {len(completions)} module completions, "
            f"{len(seeded.codes)} certificates"
        )
    return seeded


def _certify(seeded: Seeded, done_ids: list[int], now: datetime) -> None:
    """Issue certificates through the real service (its codes and rules); skip if missing."""
    from courses.extensions import db
    from courses.registration.models import Enrollment
    from courses.registration.tokens import token_for

    try:
        from courses.certificates import services
    except ImportError:
        seeded.notes.append("courses.certificates.services missing: no certificates")
        return
    if not hasattr(services, "issue_certificate"):
        seeded.notes.append("issue_certificate missing: no certificates")
        return
    fmt = getattr(services, "format_code", lambda code: code)
    issued = []
    for start in range(0, len(done_ids), 500):
        batch = db.session.scalars(
            select(Enrollment).where(Enrollment.id.in_(done_ids[start : start + 500]))
        )
        for enrollment in batch:
            try:
                cert = services.issue_certificate(enrollment, now)
            except Exception as error:  # noqa: BLE001 - report, don't stop the benchmark
                db.session.rollback()
                seeded.notes.append(f"issue_certificate failed: {error!r}")
                return
            seeded.certified_tokens.append(token_for(enrollment.token_salt))
            seeded.codes.append(fmt(cert.code))
            issued.append(cert)
        db.session.commit()
    # The state after each holder's first visit, which measures and keeps the download sizes
    # the personal page shows (25 ms once per certificate, not on every visit).
    try:
        from courses.certificates.sizes import refresh_sizes
    except ImportError:
        return
    for start in range(0, len(issued), 200):
        refresh_sizes(db.session.merge(cert) for cert in issued[start : start + 200])
        db.session.commit()


def _ordinary_day(seeded: Seeded, now: datetime) -> None:
    """Leave the worker idle, as on an ordinary day of a running edition.

    The seed's history would otherwise meet the worker all at once: the scheduled jobs due
    today (the reminders alone queue some 30,000 nudges to the seeded people who never started,
    about 40 s of the worker's CPU) and the mails the seed's own certificates queued. Delivered
    as fast as the local SMTP catcher takes them, they took about a third of a core for minutes,
    from the app and the baseline alike and unevenly across rounds. So the seed records today's
    periods (and those due in the next hours of the run) as already run, and its mails as sent.
    The registration POST scenarios still have the worker deliver every confirmation.
    """
    from courses.extensions import db
    from courses.mail.models import OutboxMessage
    from courses.worker.jobs import JOBS
    from courses.worker.models import JobRun

    periods = {
        (job.name, period)
        for job in JOBS
        for hours in (0, 1, 2, 3)
        for period in job.periods(now + timedelta(hours=hours))
    }
    for name, period in sorted(periods):
        db.session.add(JobRun(job=name, period=period, ran_at=now, summary="bench seed"))
    sent = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).values(sent_at=now)
    ).rowcount
    db.session.commit()
    seeded.notes.append(
        f"an ordinary day: {len(periods)} scheduled job periods recorded as run, "
        f"{sent} seeded mails as sent"
    )
