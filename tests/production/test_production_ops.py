"""Operations: SQLite online backup and restore, privacy purge and erasure on request."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from courses import create_app
from courses.catalog.loader import read_course_files
from courses.catalog.models import Edition
from courses.catalog.upsert import load_courses
from courses.certificates.models import Certificate
from courses.certificates.services import issue_certificate
from courses.coordination.models import AuditEntry
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.models import ModuleCompletion
from courses.registration import tokens
from courses.registration.models import Enrollment
from tests.production.prodkit import COURSE_TOML, flask_cli

OLD = datetime(2023, 7, 1, 12, tzinfo=UTC)
RECENT = datetime(2024, 3, 1, 12, tzinfo=UTC)
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def _load_course(tmp_path) -> Edition:
    course_file = tmp_path / "course.toml"
    course_file.write_text(COURSE_TOML.replace("{capacity}", "0"), encoding="utf-8")
    load_courses(read_course_files([course_file]))
    db.session.flush()
    return db.session.scalar(select(Edition).where(Edition.slug == "2099"))


def _enroll(edition: Edition, number: int, created_at: datetime, email: str | None = None):
    salt = tokens.new_salt()
    address = email or f"Persona{number}@Example.org"
    enrollment = Enrollment(
        edition_id=edition.id,
        name=f"Persona {number}",
        email=address,
        email_key=address.lower(),
        phone=f"+5691{number:07d}",
        country="PE",
        organization="Caleta Sur",
        status="registered",
        locale="es",
        token_salt=salt,
        token_hash=tokens.hash_token(tokens.token_for(salt)),
        consent_at=created_at,
        privacy_version="2023-06",
        created_at=created_at,
    )
    db.session.add(enrollment)
    db.session.flush()
    db.session.add(
        OutboxMessage(
            message_id=f"<m{number}@test>",
            kind="confirmation",
            recipient=address,
            subject="Inscripción",
            body_text=f"Hola Persona {number}",
            enrollment_id=enrollment.id,
            created_at=created_at,
            next_attempt_at=created_at,
            sent_at=created_at,
        )
    )
    return enrollment


def _snapshot() -> list[tuple]:
    return [
        (e.id, e.name, e.email, e.email_key, e.phone, e.organization, e.erased_at)
        for e in db.session.scalars(select(Enrollment).order_by(Enrollment.id))
    ]


def test_purge_erases_old_personal_data_keeps_counts_and_certificates(
    app, client, runner, tmp_path
):
    with app.app_context():
        edition = _load_course(tmp_path)
        old = _enroll(edition, 1, OLD)
        for module in edition.course.modules:
            db.session.add(
                ModuleCompletion(enrollment_id=old.id, module_id=module.id, source="self")
            )
        old.completed_at = OLD
        cert = issue_certificate(old, OLD)
        _enroll(edition, 2, OLD)
        recent = _enroll(edition, 3, RECENT)
        recent_token = tokens.token_for(recent.token_salt)
        old_token = tokens.token_for(old.token_salt)
        db.session.commit()
        db.session.refresh(cert)  # loaded: its id and code stay readable
        old_id = old.id
    app.config["FIXED_NOW"] = NOW

    result = runner.invoke(args=["privacy", "purge", "--before", "2024-01-01"])
    assert result.exit_code == 0, result.output
    assert "2 enrollment(s)" in result.output
    with app.app_context():
        old = db.session.get(Enrollment, old_id)
        erased = db.session.scalars(
            select(Enrollment).where(Enrollment.erased_at.is_not(None))
        ).all()
        assert sorted(e.id for e in erased) == [old.id, old.id + 1]
        for enrollment in erased:
            assert (
                enrollment.name == "" and enrollment.phone == "" and enrollment.organization == ""
            )
            assert enrollment.email_key == f"erased-{enrollment.id}"
            assert enrollment.email.endswith("@erased.invalid")
            assert enrollment.country == "PE" and enrollment.status == "registered"
            assert enrollment.erased_at == NOW
        # Statistics keep every row, completion and certificate; the certificate keeps its name.
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 3
        assert db.session.scalar(select(func.count()).select_from(ModuleCompletion)) == 2
        assert db.session.get(Certificate, cert.id).holder_name == "Persona 1"
    # The printed QR code still verifies, with the holder's name and nothing else personal.
    page = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "Persona 1" in page
    assert "example.org" not in page.lower() and "5691" not in page and "Caleta" not in page
    with app.app_context():
        # The old personal link no longer finds anyone; the recent one still does.
        assert _by_token(old_token) is None
        assert _by_token(recent_token).name == "Persona 3"
        # Old e-mails are gone; the recent person's mail stays.
        assert [m.recipient for m in db.session.scalars(select(OutboxMessage))] == [
            "Persona3@Example.org"
        ]
        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.purge"))
        (entry,) = audit.all()
        assert entry.actor == "cli"
        assert entry.details["enrollments"] == 2 and entry.details["before"] == "2024-01-01"

    # Purging again finds nothing more; the placeholders never collide.
    again = runner.invoke(args=["privacy", "purge", "--before", "2024-01-01"])
    assert again.exit_code == 0 and "0 enrollment(s)" in again.output


def _by_token(token: str) -> Enrollment | None:
    return db.session.scalar(
        select(Enrollment).where(Enrollment.token_hash == tokens.hash_token(token))
    )


def test_purge_refuses_a_bad_or_future_date_and_changes_nothing(app, runner, tmp_path):
    with app.app_context():
        edition = _load_course(tmp_path)
        _enroll(edition, 1, OLD)
        db.session.commit()
        before = _snapshot()
    app.config["FIXED_NOW"] = NOW
    bad = runner.invoke(args=["privacy", "purge", "--before", "31/12/2023"])
    assert bad.exit_code == 2 and "2024-01-31" in bad.output
    future = runner.invoke(args=["privacy", "purge", "--before", "2030-01-01"])
    assert future.exit_code == 1 and "future" in future.output
    with app.app_context():
        assert _snapshot() == before
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_erase_on_request_erases_one_person_and_records_it_without_the_address(
    app, runner, tmp_path
):
    with app.app_context():
        edition = _load_course(tmp_path)
        target = _enroll(edition, 1, RECENT, email="Ana.Perez@Example.org")
        _enroll(edition, 2, RECENT)
        db.session.add(
            OutboxMessage(
                message_id="<lost-link@test>",
                kind="lost-link",
                recipient="ana.perez@example.org",
                subject="Tu enlace",
                body_text="…",
                created_at=RECENT,
                next_attempt_at=RECENT,
            )
        )
        db.session.commit()
        db.session.refresh(target)  # loaded: its id stays readable
    app.config["FIXED_NOW"] = NOW

    unknown = runner.invoke(args=["privacy", "erase", "nadie@example.org"])
    assert unknown.exit_code == 1 and "nothing was erased" in unknown.output
    wrong_edition = runner.invoke(
        args=["privacy", "erase", "ana.perez@example.org", "--edition", "no/such"]
    )
    assert wrong_edition.exit_code == 1 and "No edition" in wrong_edition.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0

    result = runner.invoke(
        args=["privacy", "erase", "ANA.PEREZ@example.org", "--edition", "prueba-carga/2099"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        erased = db.session.get(Enrollment, target.id)
        assert erased.erased_at == NOW and erased.name == "" and "ana" not in erased.email.lower()
        other = db.session.scalars(select(Enrollment).where(Enrollment.id != target.id)).one()
        assert other.erased_at is None and other.name == "Persona 2"
        remaining = sorted(m.recipient for m in db.session.scalars(select(OutboxMessage)))
        # The person's mail for that edition is gone; the lost-link mail goes with a full erase.
        assert remaining == ["Persona2@Example.org", "ana.perez@example.org"]
        (entry,) = db.session.scalars(select(AuditEntry)).all()
        assert entry.action == "privacy.erase" and entry.target == f"enrollment:{target.id}"
        assert "ana" not in str(entry.details).lower()

    everywhere = runner.invoke(args=["privacy", "erase", "ana.perez@example.org"])
    assert everywhere.exit_code == 0 and "0 enrollment(s)" in everywhere.output
    with app.app_context():
        remaining = [m.recipient for m in db.session.scalars(select(OutboxMessage))]
        assert remaining == ["Persona2@Example.org"]
        assert len(db.session.scalars(select(AuditEntry)).all()) == 2


def test_backup_while_the_app_writes_and_restore_gives_a_working_database(tmp_path):
    live = tmp_path / "live.sqlite3"
    url = f"sqlite:///{live}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        edition = _load_course(tmp_path)
        edition_id = edition.id
        db.session.commit()
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        # The application at work: one committed registration after another.
        with app.app_context():
            number = 0
            while not stop.is_set():
                number += 1
                _enroll(db.session.get(Edition, edition_id), number, RECENT)
                db.session.commit()
                written.append(number)
            db.session.remove()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        backup = tmp_path / "backup.sqlite3"
        done = flask_cli(url, "db", "backup", str(backup))
        during = len(written)
        while len(written) < during + 20:
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert done.returncode == 0, done.stderr
    assert "integrity ok" in done.stdout

    # Restore: the backup file, put where a database is expected, serves the application.
    restored = tmp_path / "restored.sqlite3"
    shutil.copy(backup, restored)
    check = sqlite3.connect(restored)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
    again = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{restored}"})
    with again.app_context():
        count = db.session.scalar(select(func.count()).select_from(Enrollment))
        messages = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        db.session.remove()
        db.engine.dispose()
    # A consistent snapshot from the middle of the writing: whole registrations only.
    assert 20 <= count <= len(written) and messages == count
    client = again.test_client()
    assert client.get("/healthz").json["database"] == "ok"
    assert client.get("/courses/prueba-carga").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_backup_refuses_what_it_cannot_copy(tmp_path):
    def backup(url: str, target: str):
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        return app.test_cli_runner().invoke(args=["db", "backup", target])

    memory = backup("sqlite://", str(tmp_path / "x.sqlite3"))
    assert memory.exit_code == 1 and "in memory" in memory.output
    postgres = backup("postgresql+psycopg://postgres@127.0.0.1:1/x", str(tmp_path / "x.dump"))
    assert postgres.exit_code == 1 and "pg_dump" in postgres.output
    missing = backup(f"sqlite:///{tmp_path / 'none.sqlite3'}", str(tmp_path / "b.sqlite3"))
    assert missing.exit_code == 1 and "No database file" in missing.output
    assert not (tmp_path / "b.sqlite3").exists()
