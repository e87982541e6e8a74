"""A coordinator's decision on a participant's name correction request.

The rule lives here, beside the certificates it reissues: approving issues a new certificate
under the requested name (the old one superseded); rejecting leaves everything as it was. A
request is decided once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from courses.certificates.models import NameCorrection
from courses.certificates.services import current_certificate, reissue_certificate


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

    Raises CertificateError when approving is impossible (no certificate to reissue, a name
    the rules refuse); nothing is recorded then. The caller checks `correction.decision` is
    still None and commits.
    """
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
