"""Likely duplicate registrations in an edition, and merging two into one.

People register twice: once with a typo in the address (`gmial.com`), once more when the first
e-mail never came. A pair is a likely duplicate when both have the same phone, or the same name
(ignoring case and accents) and e-mail addresses at most two letters apart. Merging keeps one
registration with every module either completed, removes the other, and tells both addresses.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Select, delete, select, update

from courses.certificates.models import Certificate
from courses.certificates.services import current_certificate, issue_certificate
from courses.extensions import db
from courses.mail.services import queue_email
from courses.participants.models import ModuleCompletion, QuizAttempt
from courses.participants.services import progress
from courses.registration.models import REGISTERED, Enrollment
from courses.registration.services import mail_context, promote_waiting

#: Addresses this many edits apart (or fewer) count as "near-identical".
EMAIL_DISTANCE = 2


class MergeRefused(Exception):
    """These two registrations cannot be merged; the message says why."""


@dataclass(frozen=True)
class MergeResult:
    kept_id: int
    removed_id: int
    removed_email: str
    #: Modules the kept registration gained from the removed one.
    modules_moved: int
    certificate_code: str | None


def _plain(text: str) -> str:
    # Not cached for the process: the folded names would stay in memory after erasure
    # (certificates/recent.py says why); the look-up below folds each name once per call.
    decomposed = unicodedata.normalize("NFKD", " ".join(text.split()).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def distance(a: str, b: str, limit: int = EMAIL_DISTANCE) -> int:
    """Levenshtein distance, giving up (limit + 1) once it exceeds `limit`."""
    return Levenshtein.distance(a, b, score_cutoff=limit)


def likely_duplicates(scoped: Select, of: Collection[int] | None = None) -> dict[int, set[int]]:
    """{enrollment id: ids of its likely duplicates} among the registrations of `scoped`.

    `scoped` is a select of Enrollment rows (a coordinator's scope in one edition): people
    outside it are never compared, so nobody learns of a duplicate they may not see. With `of`,
    only those people are looked up (each against the rest of its phone and name groups): a page
    of fifty "María González" costs fifty rows of comparisons, not every pair among hundreds.
    """
    rows = db.session.execute(
        scoped.with_only_columns(
            Enrollment.id,
            Enrollment.name,
            Enrollment.email_key,
            Enrollment.phone,
            maintain_column_froms=True,
        )
        .where(Enrollment.erased_at.is_(None))
        .order_by(None)
    ).all()
    by_phone: dict[str, list[int]] = defaultdict(list)
    by_name: dict[str, list[tuple[int, str]]] = defaultdict(list)
    people: list[tuple[int, str, str, str]] = []
    folded: dict[str, str] = {}  # a page's namesakes are spelt in a handful of ways
    for id_, name, email_key, phone in rows:
        plain = folded.get(name)
        if plain is None:
            plain = folded[name] = _plain(name)
        if phone:
            by_phone[phone].append(id_)
        by_name[plain].append((id_, email_key))
        people.append((id_, plain, email_key, phone))
    wanted = None if of is None else set(of)
    found: dict[int, set[int]] = {}
    for id_, plain, email_key, phone in people:
        if wanted is not None and id_ not in wanted:
            continue
        others = set(by_phone[phone]) if phone else set()
        others.update(
            other
            for other, other_email in by_name[plain]
            if other != id_ and distance(email_key, other_email) <= EMAIL_DISTANCE
        )
        others.discard(id_)
        if others:
            found[id_] = others
    return found


def merge(keep: Enrollment, remove: Enrollment, now: datetime) -> MergeResult:
    """Keep `keep` with every module done in either; delete `remove`; tell both addresses.

    Refused (MergeRefused, nothing changed) for two editions, the same registration, an erased
    one, a certificate on the one to remove, or a `keep` without a place when `remove` has one.
    Flush only.
    """
    if keep.id == remove.id or keep.edition_id != remove.edition_id:
        raise MergeRefused(_("Solo se unen dos inscripciones distintas de la misma edición."))
    if keep.erased_at is not None or remove.erased_at is not None:
        raise MergeRefused(_("Una de las dos inscripciones fue borrada."))
    if db.session.scalar(select(Certificate.id).where(Certificate.enrollment_id == remove.id)):
        raise MergeRefused(
            _("La inscripción que se quitaría tiene certificado: conserva esa y quita la otra.")
        )
    if keep.status != REGISTERED and remove.status == REGISTERED:
        raise MergeRefused(
            _("La inscripción que se quitaría tiene cupo: conserva esa y quita la otra.")
        )
    kept_modules = select(ModuleCompletion.module_id).where(
        ModuleCompletion.enrollment_id == keep.id
    )
    moved = db.session.execute(
        update(ModuleCompletion)
        .where(
            ModuleCompletion.enrollment_id == remove.id,
            ModuleCompletion.module_id.not_in(kept_modules.scalar_subquery()),
        )
        .values(enrollment_id=keep.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        update(QuizAttempt)
        .where(QuizAttempt.enrollment_id == remove.id)
        .values(enrollment_id=keep.id)
        .execution_options(synchronize_session=False)
    )
    confirmed = [t for t in (keep.confirmed_at, remove.confirmed_at) if t is not None]
    keep.confirmed_at = min(confirmed) if confirmed else None
    removed_email, had_seat = remove.email, remove.seat is not None
    edition = keep.edition
    _tell(keep, remove, now)
    db.session.execute(
        delete(Enrollment)
        .where(Enrollment.id == remove.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expunge(remove)
    db.session.flush()
    code = _complete_if_done(keep, now)
    if had_seat:
        promote_waiting(edition, now)
    return MergeResult(keep.id, remove.id, removed_email, moved, code)


def _complete_if_done(keep: Enrollment, now: datetime) -> str | None:
    """With every module now done, the kept registration is complete and certified."""
    db.session.expire(keep)
    done, total = progress(keep)
    if total == 0 or done < total:
        return None
    if keep.completed_at is None:
        keep.completed_at = now
        db.session.flush()
    cert = current_certificate(keep) or issue_certificate(keep, now)
    return cert.code


def _tell(keep: Enrollment, remove: Enrollment, now: datetime) -> None:
    """The kept address gets its link; the removed one learns where the registration went."""
    language = keep.locale or "es"
    queue_email(
        kind="merged",
        recipient=keep.email,
        template="participants/mail_merged",
        language=language,
        now=now,
        enrollment_id=keep.id,
        kept=True,
        **mail_context(keep, language),
    )
    context = mail_context(keep, remove.locale or "es")
    context.pop("link")
    queue_email(
        kind="merged-removed",
        recipient=remove.email,
        template="participants/mail_merged",
        language=remove.locale or "es",
        now=now,
        enrollment_id=keep.id,
        kept=False,
        **context,
    )
