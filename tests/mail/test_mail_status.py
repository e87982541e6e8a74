"""Mail status where coordinators look: each message on the enrollee's page, and for admins a
list of what failed or waits too long. Real SMTP servers decide the states."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from courses.extensions import db
from courses.mail import delivery
from courses.mail.models import OutboxMessage
from courses.mail.services import queue_email
from courses.registration.models import Enrollment
from tests.factories import (
    NOW,
    login,
    make_coordinator,
    make_course,
    make_enrollment,
    post,
)


def _queue(person, kind: str = "confirmation") -> None:
    queue_email(
        kind=kind,
        recipient=person.email,
        template="participants/mail_lost_link",
        language="es",
        now=NOW,
        enrollment_id=person.id,
        links=[],
    )


def test_the_enrollee_page_shows_each_message_and_the_servers_reason(
    app, client, refusing_server, smtp_server
):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        person = make_enrollment(edition)
        person_id = person.id
        url = f"/coordinator/{edition.course.slug}/{edition.slug}/enrollments/{person.id}"
        _queue(person, "confirmation")
        db.session.commit()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        delivery.deliver(delivery.claim(NOW, 20))
    with app.app_context():
        _queue(db.session.get(Enrollment, person_id), "lost-link")
        db.session.commit()
    app.config.update(MAIL_PORT=refusing_server.port)
    with app.app_context():
        delivery.deliver(delivery.claim(NOW, 20))
    with app.app_context():
        _queue(db.session.get(Enrollment, person_id), "already-registered")
        admin = make_coordinator("admin").email
        db.session.commit()
    login(client, admin)
    page = client.get(url).get_data(as_text=True)
    assert "Confirmación de inscripción" in page and "entregado" in page
    assert "Enlace personal reenviado" in page and "no se pudo entregar" in page
    assert "550" in page  # the server's own words
    assert "Ya inscrito: enlace reenviado" in page and "esperando" in page
    # The personal link can be sent again from the same page, and shows up as waiting.
    with app.app_context():
        before = db.session.scalar(select(db.func.count()).select_from(OutboxMessage))
    answer = post(client, url + "/link", form_url=url)
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == before + 1


def test_admins_see_failed_and_long_waiting_messages_others_do_not(app, client, refusing_server):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        refused = make_enrollment(edition, email="rechazada@example.org")
        stuck = make_enrollment(edition, email="atascada@example.org").id
        fresh = make_enrollment(edition, email="reciente@example.org").id
        _queue(refused)
        db.session.commit()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=refusing_server.port)
    with app.app_context():
        delivery.deliver(delivery.claim(NOW, 20))
    with app.app_context():
        stuck, fresh = db.session.get(Enrollment, stuck), db.session.get(Enrollment, fresh)
        _queue(stuck)
        db.session.flush()
        later = NOW + timedelta(minutes=30)
        app.config["FIXED_NOW"] = later
        queue_email(
            kind="confirmation", recipient=fresh.email, template="participants/mail_lost_link",
            language="es", now=later, enrollment_id=fresh.id, links=[],
        )  # fmt: skip
        db.session.commit()
        country = make_coordinator("country", country="CL").email
        admin = make_coordinator("admin").email
        db.session.commit()
    login(client, country)
    assert client.get("/coordinator/mail").status_code == 404
    other = app.test_client()
    login(other, admin)
    page = other.get("/coordinator/mail").get_data(as_text=True)
    assert "rechazada@example.org" in page and "550" in page
    assert "atascada@example.org" in page
    assert "reciente@example.org" not in page  # queued a moment ago: not a problem yet
