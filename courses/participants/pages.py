"""What the participant's pages show, computed here so templates only display plain values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, quote, urlsplit

from sqlalchemy import select

from courses.catalog.contacts import Contact, all_contacts, course_contacts
from courses.catalog.models import Course, Module
from courses.certificates.codes import format_code
from courses.certificates.models import Certificate
from courses.certificates.services import (
    certificate_state,
    current_certificate,
    pending_name_correction,
    verify_url,
)
from courses.certificates.sizes import DownloadSizes, download_sizes
from courses.extensions import db
from courses.i18n import country_name, format_day, format_deadline, localized, timezone_label
from courses.i18n import gettext as _
from courses.participants.lines import EnrollmentLine
from courses.participants.services import (
    completion_rule,
    completions,
    last_failed_attempt,
    module_marks,
    progress,
    wrong_questions,
)
from courses.registration.models import Enrollment
from courses.registration.tokens import personal_link
from courses.registration.withdrawal import waiting_position

_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")


def youtube_embed_url(video_url: str | None) -> str | None:
    """The privacy-enhanced (youtube-nocookie.com) player for a single video; None otherwise.

    Channel and playlist pages have no single video to embed: those are shown as a link only.
    """
    if not video_url:
        return None
    parts = urlsplit(video_url)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    video_id = None
    if host == "youtu.be":
        video_id = parts.path.strip("/").split("/")[0]
    elif host in ("youtube.com", "youtube-nocookie.com"):
        if parts.path == "/watch":
            video_id = (parse_qs(parts.query).get("v") or [""])[0]
        else:
            segments = parts.path.strip("/").split("/")
            if len(segments) >= 2 and segments[0] in ("embed", "shorts", "live", "v"):
                video_id = segments[1]
    if video_id and _VIDEO_ID.match(video_id):
        return f"https://www.youtube-nocookie.com/embed/{video_id}?autoplay=1&rel=0"
    return None


@dataclass(frozen=True)
class ModuleRow:
    number: int
    title: str
    minutes: int | None
    completed: bool


@dataclass(frozen=True)
class CertificateBlock:
    code: str
    raw_code: str
    state: str
    issued: str
    holder_name: str
    revoked: str | None
    verify_url: str
    #: The language the certificate is not printed in by default ("en" or "es"), on request.
    other_language: str = "en"
    #: "85 kB": what the download costs on a paid mobile plan.
    pdf_size: str = ""
    png_size: str = ""


def certificate_block(
    cert: Certificate | None, timezone: str, locale: str, sizes: DownloadSizes | None = None
) -> CertificateBlock | None:
    """The certificate as the participant's page shows it, to a person who registered in
    `locale`; `sizes` when already known."""
    if cert is None:
        return None
    return CertificateBlock(
        code=format_code(cert.code),
        raw_code=cert.code,
        state=certificate_state(cert),
        issued=format_day(cert.issued_at, timezone),
        holder_name=cert.holder_name,
        revoked=format_day(cert.revoked_at, timezone) if cert.revoked_at else None,
        verify_url=verify_url(cert.code),
        other_language="es" if locale == "en" else "en",
        **_download_sizes(cert, sizes),
    )


def _download_sizes(cert: Certificate, sizes: DownloadSizes | None) -> dict[str, str]:
    """The PDF's and PNG's sizes, as kept since the first visit (measured again only when they
    no longer hold: rendering both was most of the cost of a certified person's page)."""
    if cert.revoked_at is not None:
        return {"pdf_size": "", "png_size": ""}
    sizes = sizes or download_sizes(cert)
    return {"pdf_size": file_size(sizes.pdf), "png_size": file_size(sizes.png)}


def file_size(size: int) -> str:
    """A download's size as people read it on a phone: "85 kB", "1.2 MB"."""
    if size < 1000 * 1000:
        return f"{max(1, round(size / 1000))} kB"
    return f"{size / 1000 / 1000:.1f} MB"


def deadline_text(enrollment: Enrollment | EnrollmentLine, now: datetime) -> str | None:
    """ "Puedes completar los módulos hasta …" or "El plazo … terminó el …"; None if no limit."""
    edition = enrollment.edition
    if edition.complete_by is None:
        return None
    tz = edition.course.timezone
    when = f"{format_deadline(edition.complete_by, tz)} ({timezone_label(tz)})"
    if edition.accepts_completions(now):
        return _("Puedes completar los módulos hasta el %(when)s.", when=when)
    return _("El plazo para completar los módulos terminó el %(when)s.", when=when)


def rule_text(enrollment: Enrollment | EnrollmentLine, certified: bool = False) -> str:
    """How modules are completed in this course, in plain words (no "undo" once certified)."""
    course = enrollment.edition.course
    if course.completion == "quiz":
        return _(
            "Mira el video de cada módulo y responde sus preguntas. Apruebas el módulo con "
            "%(mark)s %% de respuestas correctas; puedes intentarlo las veces que quieras.",
            mark=course.pass_mark,
        )
    if course.completion == "coordinator":
        return _(
            "Mira el video de cada módulo. La coordinación del curso marcará los módulos "
            "que completes; aquí verás tu avance."
        )
    if certified:
        return _("Mira el video de cada módulo y luego pulsa «He completado este módulo».")
    return _(
        "Mira el video de cada módulo y luego pulsa «He completado este módulo». "
        "Puedes deshacerlo mientras no se emita tu certificado."
    )


def whatsapp_link(enrollment: Enrollment | EnrollmentLine, token: str, language: str) -> str:
    """A wa.me link that lets people keep their personal link in their own chat."""
    message = _(
        "Mi enlace personal del curso «%(course)s»: %(link)s",
        course=localized(enrollment.edition.course.title, language),
        link=personal_link(token),
    )
    return "https://wa.me/?text=" + quote(message, safe="")


def status_text(
    enrollment: Enrollment | EnrollmentLine, done: int, total: int, certified: bool
) -> str:
    """Where the person stands, in words: waiting list, registered, in progress, completed."""
    if enrollment.is_withdrawn:
        return _("Dejaste esta edición")
    if enrollment.is_waiting:
        return _("En lista de espera")
    if certified:
        return _("Curso completado, certificado emitido")
    if total and done >= total:
        return _("Curso completado")
    if done:
        return _("En curso: %(done)s de %(total)s módulos", done=done, total=total)
    return _("Inscrito")


def home_context(
    enrollment: Enrollment | EnrollmentLine,
    token: str,
    now: datetime,
    language: str,
    cert: Certificate | None,
    sizes: DownloadSizes | None = None,
) -> dict:
    """Everything `/my/<token>` shows; `cert` is the enrollment's `current_certificate` (the
    view has looked it up already), `sizes` its download sizes when the view knows them.
    `enrollment` is the ORM object or, on the page itself, its plain values (`home_lines`)."""
    edition = enrollment.edition
    course = edition.course
    lines = module_marks(course.id, enrollment.id)
    done_ids = {m.id for m in lines if m.completed}
    done, total = progress(enrollment, done_ids, lines)
    # A correction is requested of a certificate (before one, the name changes at once): with
    # none there is nothing to look up, and most people on the page have none yet.
    pending = pending_name_correction(enrollment) if cert is not None else None
    return {
        "enrollment": enrollment,
        "token": token,
        "course_title": localized(course.title, language),
        "edition_slug": edition.slug,
        "waiting": enrollment.is_waiting,
        "status": status_text(
            enrollment, done, total, cert is not None and cert.revoked_at is None
        ),
        "done": done,
        "total": total,
        "rule": course.completion,
        "rule_text": rule_text(enrollment, certified=cert is not None),
        "deadline_text": deadline_text(enrollment, now),
        "modules": [
            ModuleRow(m.position, localized(m.title, language), m.minutes, m.completed)
            for m in lines
        ],
        "certificate": certificate_block(cert, course.timezone, enrollment.locale, sizes),
        "pending_name": pending.requested_name if pending else None,
        "whatsapp_link": whatsapp_link(enrollment, token, language),
        "withdrawn": enrollment.is_withdrawn,
        "withdrawn_on": (
            format_day(enrollment.withdrawn_at, course.timezone, language)
            if enrollment.withdrawn_at
            else None
        ),
        "waiting_position": waiting_position(enrollment),
        "contacts": course_contacts(course, language, enrollment.country),
    }


def module_context(
    enrollment: Enrollment, module: Module, token: str, now: datetime, language: str, play: bool
) -> dict:
    """Everything `/my/<token>/modules/<n>` shows (the embed only when asked for)."""
    course = enrollment.edition.course
    positions = [m.position for m in course.modules]
    embed = youtube_embed_url(module.video_url)
    failed = last_failed_attempt(enrollment, module)
    return {
        # The last failed attempt: its score and which questions to look at again (only
        # which ones: the right answers are never shown).
        "last_score": failed.score if failed else None,
        "wrong": wrong_questions(module, failed.answers) if failed else [],
        "enrollment": enrollment,
        "token": token,
        "course_title": localized(course.title, language),
        "number": module.position,
        "total": len(positions),
        "title": localized(module.title, language),
        "description": localized(module.description, language),
        "minutes": module.minutes,
        "video_url": module.video_url,
        "embed_url": embed if play else None,
        "can_embed": embed is not None,
        "completed": module.id in completions(enrollment),
        "rule": completion_rule(module),
        "waiting": enrollment.is_waiting,
        "withdrawn": enrollment.is_withdrawn,
        "open": enrollment.edition.accepts_completions(now),
        "deadline_text": deadline_text(enrollment, now),
        "certified": current_certificate(enrollment) is not None,
        "pass_mark": course.pass_mark,
        "previous": module.position - 1 if module.position - 1 in positions else None,
        "next": module.position + 1 if module.position + 1 in positions else None,
    }


def lost_countries(language: str) -> list[tuple[str, str]]:
    """(code, name) of every country any course offers, by name: the phone's country."""
    codes = {code for course in db.session.scalars(select(Course)) for code in course.countries}
    return sorted(((code, country_name(code, language)) for code in codes), key=lambda c: c[1])


def lost_contacts(language: str, country: str | None) -> list[Contact]:
    """Whom to write to when the links do not arrive: that country's people, else everyone."""
    return all_contacts(language, country) or all_contacts(language)
