"""An edition's certificates: list, revoke, re-send, name corrections, all as one ZIP.

Certificates are reached only through the coordinator's scoped enrollees.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from courses import clock
from courses.catalog.models import Edition
from courses.certificates import services as cert_services
from courses.certificates.archive import certificates_zip as build_zip
from courses.certificates.codes import format_code
from courses.certificates.corrections import AlreadyDecided, decide_name_correction
from courses.certificates.models import Certificate, NameCorrection
from courses.coordination import exports, services
from courses.coordination.blueprint import PREFIX, load_edition, me, record_from_get
from courses.coordination.forms import RevokeForm
from courses.extensions import db
from courses.forms import ActionForm


def register(bp: Blueprint) -> None:
    bp.add_url_rule(PREFIX + "/certificates", view_func=certificates)
    bp.add_url_rule(
        PREFIX + "/certificates/<int:certificate_id>/revoke",
        view_func=revoke,
        methods=["GET", "POST"],
    )
    bp.add_url_rule(
        PREFIX + "/certificates/<int:certificate_id>/resend", view_func=resend, methods=["POST"]
    )
    bp.add_url_rule(
        PREFIX + "/corrections/<int:correction_id>/<any(approve, reject):decision>",
        view_func=decide_correction,
        methods=["POST"],
    )
    bp.add_url_rule(PREFIX + "/certificates.zip", view_func=certificates_zip)


def _certificate(edition: Edition, certificate_id: int) -> Certificate:
    cert = db.session.scalar(
        select(Certificate).where(
            Certificate.id == certificate_id,
            Certificate.enrollment_id.in_(services.scoped_enrollment_ids(me(), edition)),
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


def certificates(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    scoped = services.scoped_enrollment_ids(me(), edition)
    issued = db.session.scalars(
        select(Certificate)
        .where(Certificate.enrollment_id.in_(scoped))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    ).all()
    corrections = db.session.scalars(
        select(NameCorrection)
        .where(NameCorrection.enrollment_id.in_(scoped), NameCorrection.decision.is_(None))
        .order_by(NameCorrection.created_at)
    ).all()
    return render_template(
        "coordination/certificates.html",
        edition=edition,
        issued=[(cert, cert_services.certificate_state(cert)) for cert in issued],
        corrections=corrections,
        format_code=format_code,
        form=ActionForm(),
        tz=edition.course.timezone,
    )


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
        flash(_("Certificado %(code)s revocado.", code=format_code(cert.code)), "success")
        return _back(edition)
    return (
        render_template(
            "coordination/revoke.html",
            edition=edition,
            cert=cert,
            form=form,
            format_code=format_code,
        ),
        400 if form.errors else 200,
    )


def resend(course_slug: str, edition_slug: str, certificate_id: int):
    edition = load_edition(course_slug, edition_slug)
    cert = _certificate(edition, certificate_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cert_services.resend_ready_mail(cert, clock.now())
    except cert_services.CertificateError as error:
        flash(str(error), "error")
        return _back(edition)
    services.record(me(), "certificate.resend", f"certificate:{cert.id}", code=cert.code)
    db.session.commit()
    flash(
        _("Correo del certificado reenviado a %(email)s.", email=cert.enrollment.email), "success"
    )
    return _back(edition)


def decide_correction(course_slug: str, edition_slug: str, correction_id: int, decision: str):
    edition = load_edition(course_slug, edition_slug)
    correction = db.session.scalar(
        select(NameCorrection).where(
            NameCorrection.id == correction_id,
            NameCorrection.enrollment_id.in_(services.scoped_enrollment_ids(me(), edition)),
        )
    )
    if correction is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = decide_name_correction(correction, decision == "approve", me().id, clock.now())
    except AlreadyDecided as error:
        flash(str(error), "warning")
        return _back(edition)
    except cert_services.CertificateError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(edition)
    details: dict[str, object] = {"old_name": result.old_name, "new_name": result.new_name}
    if decision == "approve":
        details.update(old_code=result.old_code, new_code=result.new_code)
        flash(
            _("Nombre corregido: nuevo certificado %(code)s.", code=format_code(result.new_code)),
            "success",
        )
    else:
        flash(_("Solicitud rechazada."), "success")
    services.record(
        me(), f"name_correction.{decision}", f"enrollment:{correction.enrollment_id}", **details
    )
    db.session.commit()
    return _back(edition)


def certificates_zip(course_slug: str, edition_slug: str):
    edition = load_edition(course_slug, edition_slug)
    spool, count = build_zip(services.valid_certificates(me(), edition))
    record_from_get(
        "export.certificates_zip",
        f"edition:{edition.id}",
        course=edition.course.slug,
        edition=edition.slug,
        certificates=count,
    )
    name = exports.file_name(edition, clock.now(), "zip").replace(".zip", "_certificados.zip")
    return Response(
        exports.file_chunks(spool),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
