"""The certificate rules that the back office calls, decided in the certificates package."""

from __future__ import annotations

import pytest

from courses.certificates.corrections import AlreadyDecided, decide_name_correction
from courses.certificates.services import CertificateError, resend_ready_mail
from courses.coordination.services import valid_certificates
from courses.extensions import db
from tests.factories import (
    NOW,
    make_certificate,
    make_coordinator,
    make_correction,
    make_course,
    make_enrollment,
    messages,
)


def test_a_name_correction_is_decided_once(app):
    with app.app_context():
        edition = make_course()
        person = make_enrollment(edition, "Ana Perez")
        make_certificate(person)
        correction = make_correction(person, "Ana Pérez")
        decide_name_correction(correction, False, None, NOW)
        db.session.commit()
        with pytest.raises(AlreadyDecided):
            decide_name_correction(correction, True, None, NOW)
        assert correction.decision == "rejected"
        assert person.name == "Ana Perez"


def test_only_a_valid_certificate_of_a_person_not_erased_is_mailed_again(app):
    with app.app_context():
        edition = make_course()
        valid = make_certificate(make_enrollment(edition, email="ana@example.org"))
        revoked = make_certificate(
            make_enrollment(edition, email="luis@example.org"), "FGHJK23456", revoked_at=NOW
        )
        erased_person = make_enrollment(edition, email="eva@example.org")
        erased = make_certificate(erased_person, "LMNPQ23456")
        erased_person.erased_at = NOW
        for cert in (revoked, erased):
            with pytest.raises(CertificateError):
                resend_ready_mail(cert, NOW)
        resend_ready_mail(valid, NOW)
        db.session.commit()
        assert [(m.kind, m.recipient) for m in messages()] == [("certificate", "ana@example.org")]


def test_the_zip_takes_the_valid_certificates_within_the_coordinators_scope(app):
    with app.app_context():
        edition = make_course()
        chile = make_certificate(make_enrollment(edition, country="CL"))
        make_certificate(make_enrollment(edition, country="CL"), "FGHJK23456", revoked_at=NOW)
        peru = make_certificate(make_enrollment(edition, country="PE"), "LMNPQ23456")
        admin = make_coordinator("admin")
        focal = make_coordinator("country", course=edition.course, country="CL")
        assert [c.code for c in valid_certificates(admin, edition)] == [chile.code, peru.code]
        assert [c.code for c in valid_certificates(focal, edition)] == [chile.code]
