"""The download sizes on the personal page are measured once, kept with the certificate, and
stay exact."""

from __future__ import annotations

from courses.catalog.models import Edition
from courses.certificates.corrections import decide_name_correction
from courses.certificates.models import Certificate
from courses.certificates.services import current_certificate, issue_certificate
from courses.extensions import db
from courses.participants.pages import file_size
from courses.registration.models import Enrollment
from tests.factories import NOW, enroll, make_correction, make_course


def _downloads(client, token: str) -> tuple[int, int]:
    pdf = client.get(f"/my/{token}/certificate.pdf")
    png = client.get(f"/my/{token}/certificate.png")
    assert pdf.status_code == png.status_code == 200
    return len(pdf.get_data()), len(png.get_data())


def _issue(app, client, locale: str = "es", edition_id: int | None = None):
    """A certificate issued by the service and its holder's first visit: (its id, the holder's
    token, the sizes stored)."""
    with app.app_context():
        edition = db.session.get(Edition, edition_id) if edition_id else make_course()
        enrollment, token = enroll(edition, locale=locale, email=f"{locale}@example.org")
        enrollment.completed_at = NOW
        cert = issue_certificate(enrollment, NOW)
        db.session.commit()
        cert_id = cert.id
        # Issuing renders nothing (an import issues hundreds in one request)...
        assert (cert.pdf_bytes, cert.png_bytes, cert.sizes_digest) == (None, None, None)
    assert client.get(f"/my/{token}").status_code == 200  # ...the first visit measures
    return cert_id, token, _stored(app, cert_id)


def _stored(app, cert_id: int) -> tuple[int, int]:
    with app.app_context():
        cert = db.session.get(Certificate, cert_id)
        return cert.pdf_bytes, cert.png_bytes


def _page_says(client, token: str, pdf: int, png: int) -> bool:
    home = client.get(f"/my/{token}").text
    return f"(PDF, {file_size(pdf)})" in home and f"(PNG, {file_size(png)})" in home


def test_the_sizes_stored_at_the_first_visit_are_the_downloads_and_shown(app, client):
    with app.app_context():
        edition_id = make_course().id
        db.session.commit()
    for locale in ("es", "en"):  # measured in the language the downloads come in by default
        _cert_id, token, stored = _issue(app, client, locale, edition_id)
        assert stored == _downloads(client, token)
        assert _page_says(client, token, *stored)


def test_a_reissue_after_a_name_correction_stores_the_new_documents_sizes(app, client):
    first_id, token, first = _issue(app, client)
    with app.app_context():
        person = db.session.get(Certificate, first_id).enrollment
        long_name = "Ñandú Ólafsdóttir-Łukasz O'Brien de la Santísima Trinidad y Zúñiga"
        decide_name_correction(make_correction(person, long_name), True, None, NOW)
        db.session.commit()
        cert = current_certificate(db.session.get(Enrollment, person.id))
        assert cert.id != first_id
        second_id = cert.id
    assert client.get(f"/my/{token}").status_code == 200
    stored = _stored(app, second_id)
    assert stored != first, "a longer name makes other documents"
    assert stored == _downloads(client, token)
    assert _page_says(client, token, *stored)


def test_stored_sizes_are_shown_only_while_the_documents_are_the_same(app, client):
    cert_id, token, real = _issue(app, client)
    with app.app_context():
        # Sizes that could not be real prove that the page reads the stored ones...
        cert = db.session.get(Certificate, cert_id)
        cert.pdf_bytes, cert.png_bytes = 7_000_000, 8_000_000
        db.session.commit()
    assert _page_says(client, token, 7_000_000, 8_000_000)
    with app.app_context():
        # ...until the course file changes what the certificate prints: then it measures.
        course = db.session.get(Certificate, cert_id).enrollment.edition.course
        long = "Un título bastante más largo que el de antes, para el papel"
        course.title = {"es": long, "en": long}
        db.session.commit()
    changed = _downloads(client, token)
    assert changed != real
    assert _page_says(client, token, *changed)


def test_a_certificate_without_stored_sizes_is_measured(app, client):
    cert_id, token, real = _issue(app, client)
    with app.app_context():
        cert = db.session.get(Certificate, cert_id)
        cert.pdf_bytes = cert.png_bytes = cert.sizes_digest = None  # issued before they were kept
        db.session.commit()
    assert _page_says(client, token, *real)
    assert _stored(app, cert_id) == real  # and kept again


def test_the_sizes_command_measures_missing_and_stale_sizes_only(app, client, runner):
    stale_id, stale_token, _sizes = _issue(app, client)
    with app.app_context():
        cert = db.session.get(Certificate, stale_id)
        cert.pdf_bytes = cert.png_bytes = cert.sizes_digest = None
        db.session.commit()
    assert "Measured 1 certificate(s)" in runner.invoke(args=["certificates", "sizes"]).output
    with app.app_context():
        cert = db.session.get(Certificate, stale_id)
        stored = (cert.pdf_bytes, cert.png_bytes)
    assert stored == _downloads(client, stale_token)
    assert "Measured 0 certificate(s)" in runner.invoke(args=["certificates", "sizes"]).output
