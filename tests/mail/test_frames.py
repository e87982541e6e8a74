"""A message rendered from its frame (`mail.frames.render_personal`) is the message the templates
render directly, byte for byte, whatever the name; and the frames it keeps name nobody."""

from __future__ import annotations

import pytest

from courses.extensions import db
from courses.mail.frames import render_personal
from courses.mail.services import render_email
from courses.registration import rules, services
from tests.factories import OPEN_NOW, make_course, make_enrollment

#: Names that HTML must escape, accents, apostrophes, a would-be marker and a percent sign.
NAMES = [
    "Ana Pérez",
    "María José O'Higgins",
    'Luis "Lucho" <b>Díaz</b> & Cía',
    "José %(name)s {{ link }}",
    "Ñandú \ue000link\ue001",
]

#: Every registration e-mail whose context is `services.mail_context`.
TEMPLATES = ["mail_confirmation", "mail_waiting", "mail_already", "mail_promoted"]


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_a_message_from_its_frame_is_the_message_rendered_directly(app, template, language):
    with app.app_context():
        edition = make_course(capacity=0)
        for number, name in enumerate(NAMES):
            enrollment = make_enrollment(edition, name=name, country=["CL", "PE"][number % 2])
            context = services.mail_context(enrollment, language)
            direct = render_email(f"registration/{template}", language, context)
            framed = render_personal(f"registration/{template}", language, context)
            assert framed == direct
            assert enrollment.email not in str(framed)  # the context has no address to show
        db.session.rollback()


def test_frames_hold_no_personal_value_and_follow_the_course(app):
    with app.app_context():
        edition = make_course()
        first = make_enrollment(edition, name="Rosa Quispe")
        second = make_enrollment(edition, name="Juan Soto")
        template = "registration/mail_confirmation"
        for enrollment in (first, second):
            render_personal(template, "es", services.mail_context(enrollment, "es"))
        frames = list(app.extensions["mail_frames"].values())
        assert len(frames) == 1  # one edition, one language, one country: one frame
        kept = str(frames)
        for enrollment in (first, second):
            context = services.mail_context(enrollment, "es")
            assert enrollment.name not in kept and context["link"] not in kept

        # A course edited since is a new frame, not the old message with a new name.
        edition.course.title = {"es": "Curso renombrado", "en": "Renamed course"}
        db.session.flush()
        subject, text, html = render_personal(template, "es", services.mail_context(first, "es"))
        assert "Curso renombrado" in subject and "Curso renombrado" in text
        assert len(app.extensions["mail_frames"]) == 2
        db.session.rollback()


def test_the_registration_confirmation_is_rendered_from_a_frame(app):
    """`prepare` goes through the frame: the POST's confirmation equals the direct rendering."""
    with app.app_context():
        edition = make_course()
        clean = rules.clean(
            rules.Applicant(
                name='Inés "Nené" <Ríos>',
                email="ines@example.org",
                phone="9 6123 4567",
                country="CL",
                organization="Caleta Sur",
                consent=True,
                email_as_typed="ines@example.org",
                answers={},
            ),
            edition.course.countries,
            "es",
            [],
        )
        draft = services.prepare(
            edition, clean, language="es", now=OPEN_NOW, privacy_version="2023-06"
        )
        context = services.mail_context(draft.enrollment, "es", edition)
        assert draft.confirmation == render_email("registration/mail_confirmation", "es", context)
        assert "Inés &#34;Nené&#34; &lt;Ríos&gt;" in draft.confirmation[2]
        assert len(app.extensions["mail_frames"]) == 1
        db.session.rollback()


def test_frames_answer_right_from_threads_side_by_side(app, monkeypatch):
    """The development server serves requests on threads: a small cache evicting all the time,
    eight threads at once, every message still the direct rendering."""
    import threading

    monkeypatch.setattr("courses.mail.frames.MAX_FRAMES", 2)
    with app.app_context():
        edition = make_course()
        people = [
            make_enrollment(edition, name=f"Persona {n} <{n}>", country=["CL", "PE", "MX"][n % 3])
            for n in range(12)
        ]
        contexts = [services.mail_context(p, ["es", "en"][n % 2]) for n, p in enumerate(people)]
        expected = [
            render_email("registration/mail_confirmation", ["es", "en"][n % 2], c)
            for n, c in enumerate(contexts)
        ]
        db.session.rollback()
    wrong: list[int] = []

    def render(offset: int) -> None:
        with app.app_context():
            for round_ in range(30):
                n = (offset + round_) % len(contexts)
                got = render_personal(
                    "registration/mail_confirmation", ["es", "en"][n % 2], contexts[n]
                )
                if got != expected[n]:
                    wrong.append(n)

    threads = [threading.Thread(target=render, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert len(app.extensions["mail_frames"]) <= 2
