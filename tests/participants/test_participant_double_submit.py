"""A double submit of the last module gives exactly one certificate (the database decides)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from courses import create_app
from courses.certificates.models import Certificate
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.models import ModuleCompletion
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from tests.factories import NOW, enroll, make_course
from tests.factories import csrf_in as csrf_token


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_two_posts_of_the_last_module_give_one_certificate(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        _enrollment, token = enroll(make_course(completion="self"))
    token_field = csrf_token(client.get(f"/my/{token}").text)
    for number in range(1, 6):
        client.post(f"/my/{token}/modules/{number}/complete", data={"csrf_token": token_field})
    first = client.post(f"/my/{token}/modules/6/complete", data={"csrf_token": token_field})
    second = client.post(f"/my/{token}/modules/6/complete", data={"csrf_token": token_field})
    assert (first.status_code, second.status_code) == (303, 303)
    with app.app_context():
        assert _count(ModuleCompletion) == 6
        assert _count(Certificate) == 1
        assert _count(OutboxMessage, OutboxMessage.kind == "certificate") == 1


def test_the_service_called_at_once_from_two_sessions_issues_one_certificate(
    database_url, tmp_path
):
    # Two sessions need two real connections: PostgreSQL when the suite runs on it, else a
    # SQLite file (the in-memory database shares one connection between sessions).
    postgres = database_url.startswith("postgresql")
    url = database_url if postgres else f"sqlite:///{tmp_path / 'double.sqlite3'}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        try:
            edition = make_course(completion="coordinator")
            enrollment, _token = enroll(edition)
            for module in edition.course.modules[:5]:
                mark_module(enrollment, module, source="coordinator", now=NOW)
            db.session.commit()
            enrollment_id = enrollment.id
            last_module_id = edition.course.modules[5].id
            db.session.close()  # hold no transaction (nor SQLite's write lock) meanwhile

            barrier = threading.Barrier(2)
            results: list[object] = []

            def submit() -> None:
                with app.app_context():  # a session of its own, like a second request
                    try:
                        if not postgres:
                            # SQLite's BEGIN IMMEDIATE queues whole transactions: start both
                            # at once and let the write lock order them.
                            barrier.wait(timeout=10)
                        person = db.session.get(Enrollment, enrollment_id)
                        module = next(
                            m for m in person.edition.course.modules if m.id == last_module_id
                        )
                        if postgres:
                            # Both have read the state before either writes: a true race.
                            barrier.wait(timeout=10)
                        cert = mark_module(person, module, source="coordinator", now=NOW)
                        db.session.commit()
                        results.append(cert.code)
                    except Exception as error:  # reported below, not swallowed
                        db.session.rollback()
                        results.append(error)
                    finally:
                        db.session.remove()

            threads = [threading.Thread(target=submit) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)

            assert len(results) == 2 and all(isinstance(r, str) for r in results), results
            assert results[0] == results[1]
            assert _count(Certificate) == 1
            assert _count(OutboxMessage, OutboxMessage.kind == "certificate") == 1
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
