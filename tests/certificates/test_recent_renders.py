"""Recent certificate renders name the holder: kept minutes, not the process's life, and
dropped at once by the process that erases someone."""

from __future__ import annotations

from courses.certificates import documents, picture
from courses.certificates.content import content_for
from courses.certificates.recent import RECENT_SECONDS, recent
from courses.extensions import db
from courses.ops.privacy import erase_enrollment
from tests.factories import NOW, complete, enroll, make_certificate, make_course


def test_a_kept_result_expires_after_recent_seconds():
    clock = [1000.0]
    calls = []

    @recent(maxsize=4, timer=lambda: clock[0])
    def render(text: str) -> str:
        calls.append(text)
        return text.upper()

    assert render("ana") == "ANA" and render("ana") == "ANA"
    assert calls == ["ana"]  # the retry within the time is served from memory
    clock[0] += RECENT_SECONDS - 1
    render("ana")
    assert calls == ["ana"]
    clock[0] += 2
    render("ana")
    assert calls == ["ana", "ana"]  # past it, nothing of the first render was kept


def test_erasing_a_holder_drops_this_process_renders_of_their_certificate(app):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        enrollment, _ = enroll(edition, name="Rosa Quispe Mamani", confirmed=True)
        complete(enrollment, 1, 2, 3, 4, 5, 6)
        cert = make_certificate(enrollment)
        db.session.commit()
        text = content_for(cert)
        documents.render_pdf(cert)
        picture.render_png(cert)
        assert documents._pdf.cache_info().currsize >= 1
        assert picture._png.cache_info().currsize >= 1
        assert documents.qr_code.cache_info().currsize >= 1
        erase_enrollment(enrollment, NOW)
        db.session.commit()
        for cached in (documents._pdf, picture._png, documents.qr_code):
            assert cached.cache_info().currsize == 0
        assert text.name == "Rosa Quispe Mamani"  # what the dropped renders held
