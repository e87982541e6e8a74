"""One name rule everywhere a name comes in, and names stored before it shown safely everywhere.

The rule (registration.rules.clean_name): no control characters, no bidirectional overrides or
isolates (U+202A–U+202E, U+2066–U+2069), at least one letter. A U+202E in a name reversed what
followed it on the public /verify page; NUL and ESC reached the CSV export and the PDF.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pypdf
import pytest
from sqlalchemy import select

from courses.certificates.services import current_certificate
from courses.extensions import db
from courses.mail.models import OutboxMessage
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from tests.catalog.catalog_helpers import EXAMPLE
from tests.factories import (
    FORM_URL,
    NOW,
    OPEN_NOW,
    VALID,
    counts,
    csrf_in,
    enroll,
    login,
    make_coordinator,
    make_correction,
    make_course,
    post,
    submit,
)

BAD_NAMES = {
    "nul": "Ana\x00 Pérez",
    "escape": "Ana \x1b[31mPérez",
    "right-to-left override": "Ana \u202ezeréP",
    "left-to-right embedding": "Ana \u202aPérez",
    "first strong isolate": "Ana \u2068Pérez\u2069",
    "digits only": "12345",
}
#: What must never reach a page, an e-mail, an export or a certificate.
UNSAFE = ["\x00", "\x07", "\x1b", *map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])]
#: (No NUL: PostgreSQL cannot store one; BEL stands for every other control character.)
STORED = "Ana\u202e ZUL\x1b[31m\x07 Rojas\u2066"


def _unsafe_in(text: str) -> list[str]:
    return [hex(ord(char)) for char in UNSAFE if char in text]


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_registration_refuses_names_with_controls_bidi_or_no_letter(app, client, name):
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        make_course()
        db.session.commit()
    response = submit(client, name=name)
    assert response.status_code == 422
    assert 'id="name-error"' in response.text
    assert "caracteres invisibles" in response.text or "con letras" in response.text
    with app.app_context():
        assert counts() == (0, 0)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_participants_name_correction_follows_the_same_rule(app, client, name):
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        enrollment, token = enroll(make_course(), name="Jose Nancupil")
        enrollment_id = enrollment.id
    home = client.get(f"/my/{token}")
    response = client.post(
        f"/my/{token}/name", data={"csrf_token": csrf_in(home.text), "name": name}
    )
    assert response.status_code == 400
    assert 'id="name-error"' in response.text
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.name == "Jose Nancupil"


def test_a_course_file_with_an_organiser_carrying_a_bidi_override_is_refused(tmp_path, runner):
    path = tmp_path / "bidi.toml"
    path.write_text(
        EXAMPLE.replace(
            'countries = ["CL", "PE"]',
            'countries = ["CL", "PE"]\norganizers = ["Future of Fish", "Universidad \u202eed"]',
        ),
        encoding="utf-8",
    )
    result = runner.invoke(args=["courses", "load", str(path)])
    assert result.exit_code != 0
    assert "organizers[2]" in result.output and "not a usable name" in result.output


def test_a_name_stored_before_the_rule_is_shown_safely_on_every_page_and_export(app, client):
    """Pages, e-mail, CSV, XLSX, PDF and /verify show the stored name without its controls."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(completion="coordinator")
        person, token = enroll(edition, name=STORED)
        for module in edition.course.modules:
            mark_module(person, module, source="coordinator", now=NOW)
        admin = make_coordinator("admin").email
        db.session.commit()
        person_id = person.id
        cert = current_certificate(person)
        assert cert is not None and cert.holder_name == STORED
        mails = list(db.session.scalars(select(OutboxMessage)))
    base = "/coordinator/pesca-acuicultura/2023"

    pages = {
        "personal page": client.get(f"/my/{token}"),
        "verify page": client.get(f"/verify/{cert.code}"),
    }
    for mail in mails:
        pages[f"mail {mail.kind}"] = client.get(f"/dev/mailbox/{mail.id}")
        assert _unsafe_in(mail.subject + mail.body_text + (mail.body_html or "")) == [], mail.kind
    login(client, admin)
    pages.update(
        {
            "list": client.get(f"{base}/enrollments"),
            "search": client.get(f"{base}/enrollments?q=Rojas"),
            "enrollee": client.get(f"{base}/enrollments/{person_id}"),
            "certificates": client.get(f"{base}/certificates"),
        }
    )
    for page, response in pages.items():
        assert response.status_code == 200, page
        assert "Rojas" in response.text, page
        assert _unsafe_in(response.text) == [], page

    exported = client.get(f"{base}/enrollments.csv")
    assert exported.status_code == 200
    text = exported.data.decode("utf-8-sig")
    assert _unsafe_in(text) == []
    names = [row[1] for row in csv.reader(io.StringIO(text))][1:]
    assert names == ["Ana ZUL[31m Rojas"]

    workbook = client.get(f"{base}/enrollments.xlsx")
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data)).active
    assert sheet.cell(row=2, column=2).value == "Ana ZUL[31m Rojas"

    pdf = client.get(f"/my/{token}/certificate.pdf")
    assert pdf.status_code == 200
    printed = pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "Rojas" in printed and _unsafe_in(printed) == []


def test_the_coordinator_approving_a_stored_bad_correction_is_refused(app, client):
    """A correction request stored before the rule cannot become a certificate."""
    app.config["FIXED_NOW"] = NOW
    with app.app_context():
        edition = make_course(completion="coordinator")
        person, _token = enroll(edition, name="Jose Nancupil")
        for module in edition.course.modules:
            mark_module(person, module, source="coordinator", now=NOW)
        correction_id = make_correction(person, "Jose \u202eNancupil").id
        person_id = person.id
        admin = make_coordinator("admin").email
        db.session.commit()
    login(client, admin)
    base = "/coordinator/pesca-acuicultura/2023"
    response = post(
        client, f"{base}/corrections/{correction_id}/approve", form_url=f"{base}/certificates"
    )
    assert response.status_code in (303, 400, 422)
    with app.app_context():
        person = db.session.get(Enrollment, person_id)
        assert db.session.get(Enrollment, person.id).name == "Jose Nancupil"
        assert current_certificate(person).holder_name == "Jose Nancupil"


def test_registration_still_takes_accents_apostrophes_and_hyphens(app, client):
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        make_course()
        db.session.commit()
    assert client.get(FORM_URL).status_code == 200
    assert submit(client, **VALID).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Enrollment.name)) == VALID["name"]
