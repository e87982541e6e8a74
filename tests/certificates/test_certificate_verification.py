"""Certificates: codes, the PDF and PNG, verification pages, reissue and revocation."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta

import pypdf
import pytest
from sqlalchemy import func, select

from courses.certificates import codes
from courses.certificates.models import Certificate, NameCorrection
from courses.certificates.services import (
    current_certificate,
    issue_certificate,
    reissue_certificate,
    revoke_certificate,
)
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from tests.factories import ACCENTED_NAME, NOW, csrf_in, enroll, make_course


def _certified(app, locale: str = "es", name: str = ACCENTED_NAME):
    """A committed certified enrollment, its token and its certificate (both loaded, detached:
    their columns stay readable after the context closes)."""
    with app.app_context():
        edition = make_course(completion="coordinator")
        enrollment, token = enroll(edition, locale=locale, name=name)
        for module in edition.course.modules:
            mark_module(enrollment, module, source="coordinator", now=NOW)
        db.session.commit()
        db.session.refresh(enrollment)
        return enrollment, token, current_certificate(enrollment)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_codes_use_no_look_alikes_and_catch_every_single_typo_and_swap():
    for _ in range(300):
        code = codes.new_code()
        assert len(code) == 10 and not set(code) & set("01OIL")
        assert codes.normalize(f" {code[:5].lower()} - {code[5:]} ") == code
        for i in range(10):
            for char in codes.ALPHABET:
                if char != code[i]:
                    assert not codes.is_valid(code[:i] + char + code[i + 1 :])
            if i < 9 and code[i] != code[i + 1]:
                assert not codes.is_valid(code[:i] + code[i + 1] + code[i] + code[i + 2 :])
    with pytest.raises(codes.CodeError, match="check"):
        codes.normalize("AAAAA-AAAAA")


def test_pdf_has_real_text_embedded_subset_fonts_and_stays_small(app, client):
    app.config["FIXED_NOW"] = NOW
    _enrollment, token, cert = _certified(app)
    response = client.get(f"/my/{token}/certificate.pdf")
    assert response.status_code == 200
    assert len(response.data) < 100 * 1024
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
    text = page.extract_text()
    assert ACCENTED_NAME in text
    assert codes.format_code(cert.code) in text
    assert "10 de julio de 2023" in text  # issue date in words, course's time zone
    assert "Future of Fish" in text
    fonts = page["/Resources"]["/Font"]
    for ref in fonts.values():
        font = ref.get_object()
        if "/DescendantFonts" in font:  # a composite (Type0) font keeps its descriptor below
            font_with_descriptor = font["/DescendantFonts"][0].get_object()
        else:
            font_with_descriptor = font
        descriptor = font_with_descriptor["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor  # the TrueType program is embedded
        assert "+" in str(font["/BaseFont"])  # … as a subset


def test_certificate_follows_the_participants_language(app, client):
    app.config["FIXED_NOW"] = NOW
    _enrollment, token, _cert = _certified(app, locale="en", name="Zoë Gonçalves-Ősz")
    text = pypdf.PdfReader(io.BytesIO(client.get(f"/my/{token}/certificate.pdf").data))
    text = text.pages[0].extract_text()
    assert "Certificate of participation".upper() in text
    assert "Zoë Gonçalves-Ősz" in text
    assert "July 10, 2023" in text
    with app.app_context():
        mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "certificate"))
        assert mail.one().subject == "Your certificate is ready"


def test_png_qr_code_decodes_to_the_verification_address(app, client, tmp_path):
    app.config["FIXED_NOW"] = NOW
    _enrollment, token, cert = _certified(app)
    response = client.get(f"/my/{token}/certificate.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert len(response.data) < 150 * 1024
    expected = f"http://certificados.test/verify/{cert.code}"
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        # No decoder on this machine: check what the QR code is made to carry instead.
        from courses.certificates.content import content_for
        from courses.certificates.documents import qr_code as _qr

        with app.app_context():
            cert = db.session.get(Certificate, cert.id)
            assert content_for(cert).qr_text.startswith(expected + "#")
            assert _qr(content_for(cert).qr_text).designator
        pytest.skip("zbarimg not installed (apt-get install zbar-tools): payload checked only")
    image = tmp_path / "certificate.png"
    image.write_bytes(response.data)
    decoded = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(image)], capture_output=True, text=True, check=True
    )
    # The address every phone opens, then the signed offline proof (test_offline_verification).
    assert decoded.stdout.strip().startswith(expected + "#")


def test_pdf_qr_code_decodes_to_the_verification_address(app, client, tmp_path):
    app.config["FIXED_NOW"] = NOW
    _enrollment, token, cert = _certified(app)
    response = client.get(f"/my/{token}/certificate.pdf")
    assert response.status_code == 200
    pdftoppm, zbarimg = shutil.which("pdftoppm"), shutil.which("zbarimg")
    if pdftoppm is None or zbarimg is None:
        pytest.skip("pdftoppm or zbarimg missing (apt-get install poppler-utils zbar-tools)")
    document = tmp_path / "certificate.pdf"
    document.write_bytes(response.data)
    # Rasterise the page as a phone camera would see a printed copy, then decode it for real.
    subprocess.run(
        [pdftoppm, "-png", "-r", "150", str(document), str(tmp_path / "page")], check=True
    )
    decoded = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(tmp_path / "page-1.png")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert decoded.stdout.strip().startswith(f"http://certificados.test/verify/{cert.code}#")


def test_verify_page_valid_in_any_spelling_without_contact_data(app, client):
    app.config["FIXED_NOW"] = NOW
    enrollment, _token, cert = _certified(app)
    spelled = f"{cert.code[:5].lower()} {cert.code[5:].lower()}"
    for path in (f"/verify/{cert.code}", f"/verify/{codes.format_code(cert.code)}"):
        page = client.get(path)
        assert page.status_code == 200
        assert "Certificado válido." in page.text
        assert ACCENTED_NAME.replace("'", "&#39;") in page.text
        assert "Ciclo de capacitaciones para Pesca y Acuicultura" in page.text
        assert "2023" in page.text
        assert enrollment.email not in page.text and enrollment.phone not in page.text
    form = client.get("/verify", query_string={"code": spelled})
    assert form.status_code == 303
    assert form.headers["Location"].endswith(f"/verify/{cert.code}")
    assert client.get("/verify").status_code == 200


def test_verify_mistyped_and_unknown_codes_say_so(app, client):
    app.config["FIXED_NOW"] = NOW
    _enrollment, _token, cert = _certified(app)
    typo = cert.code[:3] + cert.code[4] + cert.code[3] + cert.code[5:]
    if typo == cert.code:
        typo = cert.code[:2] + ("X" if cert.code[2] != "X" else "Y") + cert.code[3:]
    page = client.get(f"/verify/{typo}")
    assert page.status_code == 404
    assert "error de escritura" in page.text
    page = client.get("/verify", query_string={"code": typo})
    assert page.status_code == 400
    assert 'aria-describedby="code-hint code-error"' in page.text
    unknown = codes.new_code()
    while unknown == cert.code:
        unknown = codes.new_code()
    page = client.get(f"/verify/{unknown}")
    assert page.status_code == 404
    assert "Certificado no encontrado" in page.text
    assert client.get("/verify/AAAAA-AAAAA").status_code == 404


def test_revoked_certificate_is_shown_revoked_and_no_longer_downloadable(app, client):
    app.config["FIXED_NOW"] = NOW
    enrollment, token, cert = _certified(app)
    with app.app_context():
        revoke_certificate(
            db.session.get(Certificate, cert.id), "error de registro", NOW + timedelta(days=2)
        )
        db.session.commit()
    page = client.get(f"/verify/{cert.code}")
    assert page.status_code == 200
    assert "Certificado revocado." in page.text
    assert "12 de julio de 2023" in page.text
    assert "error de registro" not in page.text
    assert client.get(f"/my/{token}/certificate.pdf").status_code == 410
    assert client.get(f"/my/{token}/certificate.png").status_code == 410
    assert "fue revocado" in client.get(f"/my/{token}").text


def test_name_correction_request_then_reissue_supersedes_the_old_code(app, client):
    app.config["FIXED_NOW"] = NOW
    enrollment, token, first = _certified(app, name="Nandu Olafsdottir")
    home = client.get(f"/my/{token}")
    response = client.post(
        f"/my/{token}/name",
        data={"csrf_token": csrf_in(home.text), "name": "  Ñandú   Ólafsdóttir "},
    )
    assert response.status_code == 303
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment.id)
        request = db.session.scalars(select(NameCorrection)).one()
        assert request.requested_name == "Ñandú Ólafsdóttir"
        assert current_certificate(enrollment).holder_name == "Nandu Olafsdottir"  # not yet

        second = reissue_certificate(enrollment, request.requested_name, NOW + timedelta(days=1))
        db.session.commit()
        db.session.refresh(second)
    assert second.code != first.code and second.generation == 2
    old = client.get(f"/verify/{first.code}")
    assert "Certificado reemplazado." in old.text
    assert f'href="/verify/{second.code}"' in old.text
    assert "Certificado válido." in client.get(f"/verify/{second.code}").text
    text = pypdf.PdfReader(io.BytesIO(client.get(f"/my/{token}/certificate.pdf").data))
    assert "Ñandú Ólafsdóttir" in text.pages[0].extract_text()


def test_name_is_corrected_directly_before_the_certificate_and_bad_names_store_nothing(app, client):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course()
        enrollment, token = enroll(edition, name="Jose Nancupil")
        enrollment_id = enrollment.id
    home = client.get(f"/my/{token}")
    response = client.post(
        f"/my/{token}/name", data={"csrf_token": csrf_in(home.text), "name": " J "}
    )
    assert response.status_code == 400
    assert 'id="name-error"' in response.text
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.name == "Jose Nancupil"
    response = client.post(
        f"/my/{token}/name",
        data={"csrf_token": csrf_in(home.text), "name": "José Ñancupil Huenchullán"},
    )
    assert response.status_code == 303
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.name == "José Ñancupil Huenchullán"
        assert _count(NameCorrection) == 0


def test_issuing_twice_gives_one_certificate_and_one_mail(app):
    with app.app_context():
        edition = make_course(completion="coordinator")
        enrollment, _token = enroll(edition)
        first = issue_certificate(enrollment, NOW)
        second = issue_certificate(enrollment, NOW)  # same session: the constraint answers
        db.session.commit()
        assert first is second
        assert _count(Certificate) == 1
        mails = select(func.count()).where(OutboxMessage.kind == "certificate")
        assert db.session.scalar(mails) == 1


def test_a_correction_request_with_the_same_name_is_refused_and_stores_nothing(app, client):
    app.config["FIXED_NOW"] = NOW
    _enrollment, token, cert = _certified(app)
    home = client.get(f"/my/{token}")
    response = client.post(
        f"/my/{token}/name", data={"csrf_token": csrf_in(home.text), "name": cert.holder_name}
    )
    assert response.status_code == 400
    assert "Ese ya es el nombre que aparece en tu certificado." in response.text
    with app.app_context():
        assert _count(NameCorrection) == 0
