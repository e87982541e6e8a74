"""Progress through a course: completing modules (self, quiz, coordinator) and the certificate.

Functions only `flush()`; the request (or the CLI command) commits once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from courses.api import webhooks
from courses.catalog.contacts import course_contacts
from courses.catalog.lines import shared
from courses.catalog.models import Edition, Module
from courses.certificates.models import Certificate
from courses.certificates.services import current_certificate, issue_certificate
from courses.database import plain_rows
from courses.extensions import db
from courses.i18n import format_deadline, localized
from courses.mail.services import queue_email
from courses.participants.models import ModuleCompletion, QuizAttempt
from courses.registration.models import Enrollment
from courses.registration.tokens import hash_token, personal_link, token_for

#: Sources that may record a completion after the edition's `complete_by`.
PRIVILEGED_SOURCES = ("coordinator", "import")
SOURCES = ("self", "quiz", "coordinator", "import")


class CompletionRefused(Exception):
    """The rules refuse this completion (or undo); `message` is shown to people as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def progress(
    enrollment: Enrollment,
    done_ids: Collection[int] | None = None,
    modules: Sequence[object] | None = None,
) -> tuple[int, int]:
    """(completed modules, modules in the course); `done_ids` from `completions` (or
    `module_marks`) saves a query, `modules` (the course's, as `module_marks` reads them)
    another."""
    total = len(enrollment.edition.course.modules if modules is None else modules)
    if done_ids is not None:
        return len(done_ids), total
    done = db.session.scalar(
        select(func.count())
        .select_from(ModuleCompletion)
        .where(ModuleCompletion.enrollment_id == enrollment.id)
    )
    return int(done or 0), total


def completions(enrollment: Enrollment) -> dict[int, ModuleCompletion]:
    """The enrollment's completions, by module id."""
    rows = db.session.scalars(_COMPLETIONS, {"enrollment": enrollment.id})
    return {row.module_id: row for row in rows}


def module_marks(course_id: int, enrollment_id: int) -> list[Row]:
    """The course's modules as plain rows (id, position, title, minutes, completed), in order,
    each marked completed or not by this enrollment: what the personal page lists, in one
    statement, without the ORM's lazy load of `Course.modules`."""
    return list(
        plain_rows(db.session, _MODULE_MARKS, {"course": course_id, "enrollment": enrollment_id})
    )


def module_by_position(enrollment: Enrollment, position: int) -> Module | None:
    """Module number `position` (from 1) of the enrollment's course."""
    return next((m for m in enrollment.edition.course.modules if m.position == position), None)


def completion_rule(module: Module) -> str:
    """How this module is completed: the course's rule, except that a quiz course's module
    without questions is confirmed by the participant (nobody could ever pass it otherwise)."""
    rule = module.course.completion
    if rule == "quiz" and not module.questions:
        return "self"
    return rule


def _check_may_complete(enrollment: Enrollment, module: Module, source: str, now: datetime):
    if source not in SOURCES:
        raise ValueError(f"unknown completion source {source!r}")
    edition = enrollment.edition
    if module.course_id != edition.course_id:
        raise ValueError("the module belongs to another course")
    if enrollment.erased_at is not None:
        raise CompletionRefused(_("Esta inscripción fue eliminada."))
    if enrollment.is_withdrawn:
        raise CompletionRefused(_("Dejaste esta edición: sus módulos ya no se registran."))
    if enrollment.is_waiting:
        raise CompletionRefused(
            _(
                "Estás en la lista de espera: podrás completar los módulos cuando se libere "
                "un cupo para ti."
            )
        )
    rule = completion_rule(module)
    if source == "self" and rule != "self" or source == "quiz" and rule != "quiz":
        raise CompletionRefused(_("En este curso los módulos no se marcan de esa forma."))
    if source not in PRIVILEGED_SOURCES and not edition.accepts_completions(now):
        raise CompletionRefused(
            _(
                "El plazo para completar los módulos terminó el %(deadline)s.",
                deadline=format_deadline(edition.complete_by, edition.course.timezone),
            )
        )


def mark_module(
    enrollment: Enrollment, module: Module, *, source: str, now: datetime
) -> Certificate | None:
    """Record `module` as completed (idempotent); with all modules done, issue the certificate.

    Returns the enrollment's certificate once every module is complete, else None.
    Raises CompletionRefused for a waiting-list enrollment, a source the course's rule does not
    accept, or (except for coordinators and imports) after the edition's `complete_by`.
    """
    _check_may_complete(enrollment, module, source, now)
    try:
        # A double submit of the same module meets the unique (enrollment, module) constraint.
        with db.session.begin_nested():
            db.session.add(
                ModuleCompletion(
                    enrollment_id=enrollment.id,
                    module_id=module.id,
                    source=source,
                    completed_at=now,
                )
            )
    except IntegrityError:
        pass  # already completed: nothing to do
    done, total = progress(enrollment)
    if total == 0 or done < total:
        return None
    if enrollment.completed_at is None:
        enrollment.completed_at = now
        db.session.flush()
        webhooks.emit("enrollment.completed", enrollment, now)
    return issue_certificate(enrollment, now)


def unmark_module(enrollment: Enrollment, module: Module, *, now: datetime) -> None:
    """Undo a completion; refused once a certificate has been issued for the enrollment."""
    if module.course_id != enrollment.edition.course_id:
        raise ValueError("the module belongs to another course")
    if current_certificate(enrollment) is not None:
        raise CompletionRefused(
            _("Tu certificado ya fue emitido: los módulos completados ya no se pueden desmarcar.")
        )
    completion = db.session.scalars(
        select(ModuleCompletion).where(
            ModuleCompletion.enrollment_id == enrollment.id,
            ModuleCompletion.module_id == module.id,
        )
    ).first()
    if completion is None:
        return
    db.session.delete(completion)
    enrollment.completed_at = None
    db.session.flush()


@dataclass(frozen=True)
class QuizResult:
    """The outcome of one quiz attempt, as shown to the participant."""

    score: int
    passed: bool
    pass_mark: int
    #: Question numbers (from 1) answered wrongly or not at all; the right answers stay hidden.
    wrong: list[int]
    certificate: Certificate | None


def submit_quiz(
    enrollment: Enrollment, module: Module, answers: list[int | None], *, now: datetime
) -> QuizResult:
    """Grade an attempt, store it, and complete the module when it reaches the pass mark."""
    course = enrollment.edition.course
    _check_may_complete(enrollment, module, "quiz", now)
    questions = module.questions
    answers = list(answers[: len(questions)]) + [None] * (len(questions) - len(answers))
    wrong = wrong_questions(module, answers)
    score = round(100 * (len(questions) - len(wrong)) / len(questions))
    pass_mark = course.pass_mark if course.pass_mark is not None else 70
    passed = score >= pass_mark
    db.session.add(
        QuizAttempt(
            enrollment_id=enrollment.id,
            module_id=module.id,
            answers=answers,
            score=score,
            passed=passed,
            created_at=now,
        )
    )
    db.session.flush()
    certificate = mark_module(enrollment, module, source="quiz", now=now) if passed else None
    return QuizResult(score, passed, pass_mark, wrong, certificate)


def wrong_questions(module: Module, answers: list[int | None]) -> list[int]:
    """Numbers (from 1) of the questions whose answer is wrong or missing."""
    questions = module.questions or []
    answers = list(answers[: len(questions)]) + [None] * (len(questions) - len(answers))
    return [
        number
        for number, (question, answer) in enumerate(zip(questions, answers, strict=True), 1)
        if answer != question.get("answer")
    ]


def last_failed_attempt(enrollment: Enrollment, module: Module) -> QuizAttempt | None:
    """The latest attempt at `module`'s quiz if it failed (None once passed or never tried)."""
    attempt = db.session.scalars(
        select(QuizAttempt)
        .where(QuizAttempt.enrollment_id == enrollment.id, QuizAttempt.module_id == module.id)
        .order_by(QuizAttempt.id.desc())
        .limit(1)
    ).first()
    return attempt if attempt is not None and not attempt.passed else None


def confirm_email(enrollment_id: int, now: datetime) -> bool:
    """The personal link was opened: the e-mail address works. True the first time.

    By id: the personal page reads plain values (participants/lines.py), and only this first
    visit's write needs the row itself, loaded inside the short write."""
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.confirmed_at is not None:
        return False
    enrollment.confirmed_at = now
    db.session.flush()
    return True


# Built once: a statement object keeps its cache key, so requests skip building and hashing it.
_BY_TOKEN_HASH = (
    select(Enrollment)
    .where(Enrollment.token_hash == bindparam("hash"))
    # Every page of the link shows the course: one query instead of three.
    .options(joinedload(Enrollment.edition).joinedload(Edition.course))
)
_COMPLETIONS = select(ModuleCompletion).where(
    ModuleCompletion.enrollment_id == bindparam("enrollment")
)
# A Core statement of the table columns, for the page that shows plain values: it skips the
# ORM's compile and result steps (see courses/catalog/services.py's module lines). Titles are
# read through SharedJSON: the page only reads them.
_COMPLETION = ModuleCompletion.__table__.c
_MODULE = Module.__table__.c
_MODULE_MARKS = (
    select(
        _MODULE.id,
        _MODULE.position,
        shared(_MODULE.title),
        _MODULE.minutes,
        _COMPLETION.module_id.is_not(None).label("completed"),
    )
    .select_from(
        Module.__table__.outerjoin(
            ModuleCompletion.__table__,
            (_COMPLETION.module_id == _MODULE.id)
            & (_COMPLETION.enrollment_id == bindparam("enrollment")),
        )
    )
    .where(_MODULE.course_id == bindparam("course"))
    .order_by(_MODULE.position)
)


def link_hash(token: str) -> str | None:
    """What a personal link's token is looked up by; None for a text no token can be."""
    if not token or len(token) > 64:
        return None
    return hash_token(token)


def enrollment_by_token(token: str) -> Enrollment | None:
    """The enrollment a personal link opens; None for an unknown token or erased data.

    The personal page itself reads plain values instead (`participants.lines.home_lines`)."""
    hashed = link_hash(token)
    if hashed is None:
        return None
    enrollment = db.session.scalars(_BY_TOKEN_HASH, {"hash": hashed}).first()
    if enrollment is None or enrollment.erased_at is not None:
        return None
    return enrollment


def resend_links(email: str, now: datetime, language: str) -> int:
    """E-mail the personal links of every enrollment of `email` in one message; how many."""
    key = email.strip().lower()
    enrollments = list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.email_key == key, Enrollment.erased_at.is_(None))
            .order_by(Enrollment.created_at, Enrollment.id)
        )
    )
    if not enrollments:
        return 0
    links = [
        {
            "course": localized(e.edition.course.title, language),
            "edition": e.edition.slug,
            "waiting": e.is_waiting,
            "withdrawn": e.is_withdrawn,
            "link": personal_link(token_for(e.token_salt)),
        }
        for e in enrollments
    ]
    latest = enrollments[-1]
    queue_email(
        kind="lost-link",
        recipient=latest.email,
        template="participants/mail_lost_link",
        language=language,
        now=now,
        enrollment_id=latest.id if len(enrollments) == 1 else None,
        links=links,
        contacts=course_contacts(latest.edition.course, language, latest.country),
    )
    return len(enrollments)


def resend_links_by_phone(phone: str, now: datetime, language: str) -> int:
    """For a phone number (E.164), e-mail each address on file with that number its links.

    The links go only to addresses already registered, never to the phone or the page, so
    knowing someone's number opens nothing. Returns how many addresses were written to.
    """
    addresses = db.session.scalars(
        select(Enrollment.email_key)
        .where(Enrollment.phone == phone, Enrollment.erased_at.is_(None))
        .group_by(Enrollment.email_key)
        .order_by(Enrollment.email_key)
    ).all()
    return sum(1 for address in addresses if resend_links(address, now, language))
