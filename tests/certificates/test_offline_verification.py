"""The QR code proves itself: decoded from the PNG and PDF by zbar, checked offline by the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from courses.certificates import keys, qrproof
from courses.extensions import db
from courses.participants.services import mark_module
from tests.factories import ACCENTED_NAME, NOW, enroll, make_course

zbar = pytest.mark.skipif(
    shutil.which("zbarimg") is None, reason="zbarimg not installed (apt-get install zbar-tools)"
)


@pytest.fixture
def certified(app):
    """(personal token, saved did.json path) for one earned certificate."""
    with app.app_context():
        edition = make_course(completion="coordinator")
        enrollment, token = enroll(edition, name=ACCENTED_NAME)
        for module in edition.course.modules:
            mark_module(enrollment, module, source="coordinator", now=NOW)
        db.session.commit()
    return token


def _zbar(path) -> str:
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _verify(app, text: str, did_file=None):
    args = ["certificates", "verify", text]
    if did_file:
        args += ["--did", str(did_file)]
    return app.test_cli_runner().invoke(args=args)


@zbar
def test_qr_of_png_and_pdf_carries_a_proof_the_cli_verifies_with_a_saved_did_document(
    app, client, certified, tmp_path
):
    token = certified
    did_file = tmp_path / "did.json"
    did_file.write_text(client.get("/.well-known/did.json").data.decode())

    png = tmp_path / "certificate.png"
    png.write_bytes(client.get(f"/my/{token}/certificate.png").data)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(client.get(f"/my/{token}/certificate.pdf").data)
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    for image in (png, tmp_path / "page.png"):
        text = _zbar(image)
        address, _hash, proof = text.partition("#")
        assert address.startswith("http://certificados.test/verify/") and proof
        result = _verify(app, text, did_file)
        assert result.exit_code == 0, result.output
        assert "VALID" in result.output and ACCENTED_NAME in result.output
        assert "Ciclo de capacitaciones" in result.output

    # Another name with the same signature: refused.
    code_part, _dot, signature = proof.partition(".")
    fields = json.loads(keys.b64url_decode(code_part))
    fields[2] = "Otra Persona"
    forged = f"{address}#{keys.b64url(json.dumps(fields).encode())}.{signature}"
    result = _verify(app, forged, did_file)
    assert result.exit_code == 1 and "NOT VALID" in result.output


def test_qr_proof_is_short_enough_for_a_printed_qr_and_survives_long_names(app, client):
    with app.app_context():
        edition = make_course(completion="coordinator")
        enrollment, token = enroll(edition, name="María " * 19 + "Ñ")
        for module in edition.course.modules:
            mark_module(enrollment, module, source="coordinator", now=NOW)
        db.session.commit()
        from courses.certificates.content import content_for
        from courses.certificates.services import current_certificate

        text = content_for(current_certificate(enrollment)).qr_text
    import segno

    # Version 25 (117×117 modules) still prints at about 0.4 mm a module in 45 mm.
    assert segno.make_qr(text, error="m").version <= 25
    assert _verify(app, text).exit_code == 0


def test_cli_verifies_credential_files_offline_and_refuses_a_changed_one(
    app, client, certified, tmp_path
):
    token = certified
    did_file = tmp_path / "did.json"
    did_file.write_text(client.get("/.well-known/did.json").data.decode())
    credential = tmp_path / "credential.json"
    credential.write_bytes(client.get(f"/my/{token}/credential.json").data)
    jwt = tmp_path / "credential.jwt"
    jwt.write_bytes(client.get(f"/my/{token}/credential.jwt").data)

    for path in (credential, jwt):
        result = _verify(app, str(path), did_file)
        assert result.exit_code == 0, result.output
        assert ACCENTED_NAME in result.output

    document = json.loads(credential.read_text())
    document["credentialSubject"]["name"] = "Ñandú Olafsdóttir-Łukasz O'Brien"  # one byte less
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document, ensure_ascii=False))
    result = _verify(app, str(changed), did_file)
    assert result.exit_code == 1 and "changed" in result.output

    # A did.json of another issuer (another key) does not vouch for it.
    other = json.loads(did_file.read_text())
    other["verificationMethod"] = [
        {**m, "publicKeyMultibase": keys.PublicKey("x", bytes(32), "").multibase}
        for m in other["verificationMethod"]
        if m["type"] == "Multikey"
    ]
    did_file.write_text(json.dumps(other))
    assert _verify(app, str(credential), did_file).exit_code == 1


def test_a_qr_without_proof_or_with_a_foreign_code_is_refused(app):
    with pytest.raises(qrproof.QrProofError, match="no signed proof"):
        qrproof.verify_qr("http://certificados.test/verify/ABCDE23456", lambda kid: None)
    with pytest.raises(qrproof.QrProofError, match="not a certificate"):
        qrproof.verify_qr("https://example.org/#abc.def", lambda kid: None)
