"""A coordinator's decision on a participant's name correction request.

The rule lives here, beside the certificates it reissues: approving issues a new certificate
under the requested name (the old one superseded); rejecting leaves everything as it was. A
request is decided once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from courses.certificates.models import NameCorrection
from courses.certificates.services import (
    CertificateError,
    clean_name,
    current_certificate,
    reissue_certificate,
)
from courses.extensions import db
from courses.registration.models import Enrollment


class AlreadyDecided(CertificateError):
    """The request was decided before (by someone else, or in another tab)."""


@dataclass(frozen=True)
class CorrectionDecision:
    """What a decision did, for the audit log and the coordinator's message."""

    old_name: str
    new_name: str
    #: Set when approved: the certificate codes before and after the reissue.
    old_code: str | None = None
    new_code: str | None = None


def decide_name_correction(
    correction: NameCorrection, approve: bool, decided_by_id: int | None, now: datetime
) -> CorrectionDecision:
    """Approve (reissue under the requested name) or reject an undecided request.

    Raises AlreadyDecided for a request decided before, and CertificateError when approving
    is impossible (no certificate to reissue, a name the rules refuse); nothing is recorded
    then. The caller commits.
    """
    if correction.decision is not None:
        raise AlreadyDecided(_("Esa solicitud ya fue resuelta."))
    person = correction.enrollment
    old_name = person.name
    if approve:
        before = current_certificate(person)
        cert = reissue_certificate(person, correction.requested_name, now)
        result = CorrectionDecision(
            old_name, correction.requested_name, before.code if before else None, cert.code
        )
    else:
        result = CorrectionDecision(old_name, correction.requested_name)
    correction.decision = "approved" if approve else "rejected"
    correction.decided_at = now
    correction.decided_by_id = decided_by_id
    return result


def correct_name_now(
    enrollment: Enrollment, name: str, decided_by_id: int | None, now: datetime
) -> CorrectionDecision:
    """A coordinator corrects a certified name: recorded as a request approved at once.

    Raises CertificateError (no certificate, a name the rules refuse, the same name as now).
    """
    current = current_certificate(enrollment)
    if current is not None and clean_name(name) == current.holder_name:
        raise CertificateError(_("Ese ya es el nombre que aparece en el certificado."))
    correction = NameCorrection(
        enrollment_id=enrollment.id, requested_name=clean_name(name), created_at=now
    )
    db.session.add(correction)
    db.session.flush()
    return decide_name_correction(correction, True, decided_by_id, now)
