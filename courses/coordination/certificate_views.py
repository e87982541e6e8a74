"""Coordinator pages for an edition's certificates: list, revoke, name corrections, resend, ZIP.

Certificates are reached only through the coordinator's scoped enrollees.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
import zipfile

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from courses import clock
from courses.catalog.models import Edition
from courses.certificates import services as cert_services
from courses.certificates.documents import render_pdf
from courses.certificates.models import Certificate, NameCorrection
from courses.coordination import exports, services
from courses.coordination.edition_views import PREFIX
from courses.coordination.forms import ActionForm, RevokeForm
from courses.coordination.views import bp, load_edition, me, record_from_get
from courses.extensions import db
from courses.registration.models import Enrollment


def _scoped_ids(edition: Edition):
    return (
        services.scoped_enrollments(me(), edition)
        .with_only_columns(Enrollment.id, maintain_column_froms=True)
        .scalar_subquery()
    )


def _certificate(edition: Edition, certificate_id: int) -> Certificate:
    cert = db.session.scalar(
        select(Certificate).where(
            Certificate.id == certificate_id, Certificate.enrollment_id.in_(_scoped_ids(edition))
        )
    )
    if cert is None:
        abort(404)
    return cert


def _back(edition: Edition):
    return redirect(
        url_for(
            "coordination.certificates",
            course_slug=edition.course.slug,
            edition_slug=edition.slug,
        ),
        code=303,
    )


@bp.get(PREFIX + "/certificates")
def certificates(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    issued = db.session.scalars(
        select(Certificate)
        .where(Certificate.enrollment_id.in_(_scoped_ids(edition)))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    ).all()
    corrections = db.session.scalars(
        select(NameCorrection)
        .where(
            NameCorrection.enrollment_id.in_(_scoped_ids(edition)),
            NameCorrection.decision.is_(None),
        )
        .order_by(NameCorrection.created_at)
    ).all()
    return render_template(
        "coordination/certificates.html",
        edition=edition,
        issued=[(cert, cert_services.certificate_state(cert)) for cert in issued],
        corrections=corrections,
        format_code=exports.format_code,
        form=ActionForm(),
        tz=edition.course.timezone,
    )


@bp.route(PREFIX + "/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
def revoke(course_slug: str, edition_slug: str, certificate_id: int):
    edition = load_edition(course_slug, edition_slug)
    cert = _certificate(edition, certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        if cert.revoked_at is not None or cert.superseded_by_id is not None:
            flash(_("Ese certificado ya no está vigente."), "warning")
            return _back(edition)
        cert_services.revoke_certificate(cert, form.reason.data, clock.now())
        services.record(
            me(),
            "certificate.revoke",
            f"certificate:{cert.id}",
            code=cert.code,
            reason=form.reason.data.strip(),
            before="valid",
            after="revoked",
        )
        db.session.commit()
        flash(_("Certificado %(code)s revocado.", code=exports.format_code(cert.code)), "success")
        return _back(edition)
    return (
        render_template(
            "coordination/revoke.html",
            edition=edition,
            cert=cert,
            form=form,
            format_code=exports.format_code,
        ),
        400 if form.errors else 200,
    )


@bp.post(PREFIX + "/certificates/<int:certificate_id>/resend")
def resend(course_slug: str, edition_slug: str, certificate_id: int):
    edition = load_edition(course_slug, edition_slug)
    cert = _certificate(edition, certificate_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if cert_services.certificate_state(cert) != "valid" or cert.enrollment.erased_at is not None:
        flash(_("Solo se reenvía un certificado vigente."), "error")
        return _back(edition)
    cert_services._queue_ready_mail(cert, clock.now())
    services.record(me(), "certificate.resend", f"certificate:{cert.id}", code=cert.code)
    db.session.commit()
    flash(
        _("Correo del certificado reenviado a %(email)s.", email=cert.enrollment.email), "success"
    )
    return _back(edition)


@bp.post(PREFIX + "/corrections/<int:correction_id>/<any(approve, reject):decision>")
def decide_correction(course_slug: str, edition_slug: str, correction_id: int, decision: str):
    edition = load_edition(course_slug, edition_slug)
    correction = db.session.scalar(
        select(NameCorrection).where(
            NameCorrection.id == correction_id,
            NameCorrection.enrollment_id.in_(_scoped_ids(edition)),
        )
    )
    if correction is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if correction.decision is not None:
        flash(_("Esa solicitud ya fue resuelta."), "warning")
        return _back(edition)
    now = clock.now()
    person = correction.enrollment
    before = cert_services.current_certificate(person)
    details: dict[str, object] = {"old_name": person.name, "new_name": correction.requested_name}
    if decision == "approve":
        try:
            cert = cert_services.reissue_certificate(person, correction.requested_name, now)
        except cert_services.CertificateError as error:
            db.session.rollback()
            flash(str(error), "error")
            return _back(edition)
        details.update(old_code=before.code if before else None, new_code=cert.code)
        flash(
            _("Nombre corregido: nuevo certificado %(code)s.", code=exports.format_code(cert.code)),
            "success",
        )
    else:
        flash(_("Solicitud rechazada."), "success")
    correction.decision = "approved" if decision == "approve" else "rejected"
    correction.decided_at = now
    correction.decided_by_id = me().id
    services.record(me(), f"name_correction.{decision}", f"enrollment:{person.id}", **details)
    db.session.commit()
    return _back(edition)


@bp.get(PREFIX + "/certificates.zip")
def certificates_zip(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    valid = db.session.scalars(
        select(Certificate)
        .where(
            Certificate.enrollment_id.in_(_scoped_ids(edition)),
            services.current_certificate_clause(),
        )
        .order_by(Certificate.id)
        .execution_options(yield_per=100)
    )
    # Spooled: small editions stay in memory, large ones go to a temporary file, never both.
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    count = 0
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for cert in valid:
            archive.writestr(f"{_file_stem(cert)}.pdf", render_pdf(cert))
            count += 1
    record_from_get(
        "export.certificates_zip",
        f"edition:{edition.id}",
        course=edition.course.slug,
        edition=edition.slug,
        certificates=count,
    )
    spool.seek(0)
    name = exports.file_name(edition, clock.now(), "zip").replace(".zip", "_certificados.zip")
    return Response(
        exports.file_chunks(spool),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _file_stem(cert: Certificate) -> str:
    """CODE_name-in-ascii, safe on every file system."""
    plain = unicodedata.normalize("NFKD", cert.holder_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-")[:60] or "certificado"
    return f"{exports.format_code(cert.code)}_{slug}"
