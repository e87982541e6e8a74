"""The audit log read by people: who did what to whom, in a sentence, at a local time.

Entries store short codes ("export.csv", "enrollment:42") so they survive renames; this module
turns them into words when the log is shown, looking the names up in batches (one query per
kind of target, not one per entry). Unknown actions fall back to their code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Select, select

from courses.catalog.models import Course, Edition
from courses.certificates.codes import format_code
from courses.certificates.models import Certificate
from courses.coordination.models import AuditEntry, Coordinator
from courses.coordination.services import role_labels
from courses.extensions import db
from courses.i18n import COUNTRY_TIMEZONES, localized
from courses.registration.models import Enrollment

PAGE_SIZE = 100

#: Families of actions offered in the filter, by the prefix their codes start with.
KINDS = (
    "login",
    "coordinator",
    "password",
    "export",
    "enrollment",
    "module",
    "import",
    "edition",
    "certificate",
    "name_correction",
    "privacy",
)


def kind_labels() -> dict[str, str]:
    return {
        "login": _("Inicios de sesión"),
        "coordinator": _("Cuentas"),
        "password": _("Contraseñas"),
        "export": _("Descargas de datos"),
        "enrollment": _("Cambios a inscripciones"),
        "module": _("Módulos marcados"),
        "import": _("Importaciones"),
        "edition": _("Ediciones"),
        "certificate": _("Certificados"),
        "name_correction": _("Correcciones de nombre"),
        "privacy": _("Privacidad"),
    }


@dataclass(frozen=True)
class AuditFilters:
    person: str = ""
    kind: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args) -> AuditFilters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name) or "")
            except ValueError:
                return None

        try:
            page = max(1, min(int(args.get("page") or 1), 100_000))
        except ValueError:
            page = 1
        kind = args.get("kind") or ""
        return cls(
            person=" ".join((args.get("person") or "").split())[:100],
            kind=kind if kind in KINDS else "",
            since=day("since"),
            until=day("until"),
            page=page,
        )

    def as_args(self, **changes) -> dict[str, object]:
        values = {
            "person": self.person,
            "kind": self.kind,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1)}


def zone_for(coordinator: Coordinator) -> str:
    """The zone the log is shown in: the focal point's country, else the first course's."""
    if coordinator.country in COUNTRY_TIMEZONES:
        return COUNTRY_TIMEZONES[coordinator.country]
    first = db.session.scalar(select(Course.timezone).order_by(Course.id).limit(1))
    return first or "UTC"


def query(filters: AuditFilters, timezone: str) -> Select:
    """Entries matching the filters, newest first; the days are local days in `timezone`."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if filters.person:
        stmt = stmt.where(AuditEntry.actor.contains(filters.person.lower(), autoescape=True))
    if filters.kind:
        stmt = stmt.where(AuditEntry.action.startswith(filters.kind, autoescape=True))
    zone = ZoneInfo(timezone)
    if filters.since:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(filters.since, time(0), tzinfo=zone))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(0), tzinfo=zone)
        stmt = stmt.where(AuditEntry.at < end)
    return stmt


def page(filters: AuditFilters, timezone: str) -> tuple[list[AuditEntry], bool]:
    """(one page of entries, whether older ones follow)."""
    entries = list(
        db.session.scalars(
            query(filters, timezone).limit(PAGE_SIZE + 1).offset((filters.page - 1) * PAGE_SIZE)
        )
    )
    return entries[:PAGE_SIZE], len(entries) > PAGE_SIZE


class _Names:
    """Names of the targets of a page of entries, fetched once per kind."""

    def __init__(self, entries: Iterable[AuditEntry]) -> None:
        ids: dict[str, set[int]] = {}
        for entry in entries:
            kind, _sep, number = (entry.target or "").partition(":")
            if number.isdigit():
                ids.setdefault(kind, set()).add(int(number))
        self.people = self._load(ids.get("enrollment"), Enrollment, lambda e: e.name)
        self.accounts = self._load(ids.get("coordinator"), Coordinator, lambda c: c.email)
        self.certificates = self._load(
            ids.get("certificate"),
            Certificate,
            lambda c: f"{format_code(c.code)} ({c.holder_name})",
        )
        self.editions = self._load(
            ids.get("edition"),
            Edition,
            lambda e: _(
                "«%(course)s», edición %(edition)s",
                course=localized(e.course.title),
                edition=e.slug,
            ),
        )

    @staticmethod
    def _load(ids: set[int] | None, model, name: Callable) -> dict[int, str]:
        if not ids:
            return {}
        rows = db.session.scalars(select(model).where(model.id.in_(sorted(ids))))
        return {row.id: name(row) for row in rows}

    def of(self, target: str | None) -> str:
        kind, _sep, number = (target or "").partition(":")
        if not number.isdigit():
            return target or ""
        table = {
            "enrollment": self.people,
            "coordinator": self.accounts,
            "certificate": self.certificates,
            "edition": self.editions,
        }.get(kind, {})
        fallback = {
            "enrollment": _("una inscripción ya borrada"),
            "coordinator": _("una cuenta ya borrada"),
            "certificate": _("un certificado"),
            "edition": _("una edición ya borrada"),
        }.get(kind, target or "")
        return table.get(int(number), fallback)


def _who(entry: AuditEntry) -> str:
    if entry.actor == "cli":
        return _("La terminal del servidor")
    if entry.actor == "system":
        return _("El sistema")
    return entry.actor


def sentence(entry: AuditEntry, whom: str) -> str:
    """What happened, in one plain sentence (names are escaped by the template)."""
    who = _who(entry)
    d = entry.details or {}
    rows = d.get("rows")
    words: dict[str, Callable[[], str]] = {
        "login": lambda: _("%(who)s inició sesión.", who=who),
        "login.failed": lambda: _("Intento fallido de iniciar sesión como %(who)s.", who=who),
        "logout": lambda: _("%(who)s cerró sesión.", who=who),
        "password.change": lambda: _("%(who)s cambió su contraseña.", who=who),
        "coordinator.create": lambda: _(
            "%(who)s creó la cuenta de %(whom)s (%(role)s).",
            who=who,
            whom=d.get("email") or whom,
            role=role_labels().get(d.get("role"), d.get("role") or ""),
        ),
        "coordinator.active": lambda: (
            _("%(who)s reactivó la cuenta de %(whom)s.", who=who, whom=whom)
            if d.get("after")
            else _("%(who)s desactivó la cuenta de %(whom)s.", who=who, whom=whom)
        ),
        "export.csv": lambda: _(
            "%(who)s descargó en CSV %(n)s inscritos de %(whom)s.", who=who, n=rows, whom=whom
        ),
        "export.xlsx": lambda: _(
            "%(who)s descargó en Excel %(n)s inscritos de %(whom)s.", who=who, n=rows, whom=whom
        ),
        "export.certificates_zip": lambda: _(
            "%(who)s descargó %(n)s certificados de %(whom)s.",
            who=who,
            n=d.get("certificates"),
            whom=whom,
        ),
        "module.mark": lambda: _(
            "%(who)s marcó el módulo %(n)s de %(whom)s.", who=who, n=d.get("module"), whom=whom
        ),
        "module.unmark": lambda: _(
            "%(who)s desmarcó el módulo %(n)s de %(whom)s.", who=who, n=d.get("module"), whom=whom
        ),
        "import.completions": lambda: _(
            "%(who)s importó módulos completados en %(whom)s: %(n)s marcados.",
            who=who,
            whom=whom,
            n=d.get("marked"),
        ),
        "edition.update": lambda: _(
            "%(who)s cambió las fechas o los cupos de %(whom)s.", who=who, whom=whom
        ),
        "edition.create": lambda: _("%(who)s creó %(whom)s.", who=who, whom=whom),
        "certificate.revoke": lambda: _(
            "%(who)s revocó el certificado %(whom)s: «%(reason)s».",
            who=who,
            whom=whom,
            reason=d.get("reason") or "",
        ),
        "certificate.resend": lambda: _(
            "%(who)s reenvió el certificado %(whom)s.", who=who, whom=whom
        ),
        "name_correction.approve": lambda: _(
            "%(who)s aprobó el cambio de nombre de «%(old)s» a «%(new)s».",
            who=who,
            old=d.get("old_name"),
            new=d.get("new_name"),
        ),
        "name_correction.reject": lambda: _(
            "%(who)s rechazó el cambio de nombre de «%(old)s» a «%(new)s».",
            who=who,
            old=d.get("old_name"),
            new=d.get("new_name"),
        ),
        "name_correction.coordinator": lambda: _(
            "%(who)s corrigió el nombre del certificado de «%(old)s» a «%(new)s».",
            who=who,
            old=d.get("old_name"),
            new=d.get("new_name"),
        ),
        "enrollment.contact": lambda: _(
            "%(who)s corrigió %(fields)s de %(whom)s.",
            who=who,
            whom=whom,
            fields=", ".join(field_labels().get(k, k) for k in (d.get("after") or {})),
        ),
        "enrollment.link_resent": lambda: _(
            "%(who)s reenvió por correo el enlace personal de %(whom)s.", who=who, whom=whom
        ),
        "enrollment.whatsapp": lambda: _(
            "%(who)s preparó un WhatsApp con el enlace personal de %(whom)s.", who=who, whom=whom
        ),
        "enrollment.merge": lambda: _(
            "%(who)s unió la inscripción de %(removed)s con la de %(whom)s.",
            who=who,
            whom=whom,
            removed=(d.get("removed") or {}).get("email", ""),
        ),
        "privacy.erase": lambda: _(
            "%(who)s borró los datos personales de %(whom)s.", who=who, whom=whom
        ),
        "privacy.purge": lambda: _("%(who)s borró los datos personales antiguos.", who=who),
    }
    make = words.get(entry.action)
    return make() if make else f"{who}: {entry.action} {whom}".strip()


def described(entries: list[AuditEntry]) -> list[tuple[AuditEntry, str]]:
    names = _Names(entries)
    return [(entry, sentence(entry, names.of(entry.target))) for entry in entries]


def field_labels() -> dict[str, str]:
    return {
        "name": _("el nombre"),
        "email": _("el correo"),
        "phone": _("el teléfono"),
        "organization": _("la organización"),
    }
