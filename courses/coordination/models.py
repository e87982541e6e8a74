"""Coordinator accounts and the audit log of what they do."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.catalog.models import Course
from courses.database import UTCDateTime, utcnow
from courses.extensions import db

ROLES = ("admin", "course", "country")

#: The courses a "course" coordinator is assigned to (one or more).
coordinator_course = Table(
    "coordinator_course",
    db.metadata,
    Column(
        "coordinator_id",
        ForeignKey("coordinator.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("course_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
)


class Coordinator(UserMixin, db.Model):
    __tablename__ = "coordinator"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'course', 'country')", name="role"),
        CheckConstraint("role != 'country' OR country IS NOT NULL", name="country_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased; the login name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: "admin" (everything), "course" (the courses assigned) or "country" (one country, every
    #: course).
    role: Mapped[str] = mapped_column(String(10))
    country: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: For the "course" role: the courses assigned (at least one, checked when created).
    courses: Mapped[list[Course]] = relationship(
        secondary=coordinator_course, order_by="Course.slug"
    )

    @property
    def course_ids(self) -> set[int]:
        return {course.id for course in self.courses}

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    #: The id of the server-side session this object was loaded for or logged in with
    #: (coordination/sessions.py); set per request, never stored in this table.
    session_token = None

    def get_id(self) -> str:
        """Flask-Login's user id: this browser's session id (nothing of the password)."""
        return self.session_token or ""


class AuditEntry(db.Model):
    """Who did what, when: every coordinator action and every export of personal data."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    coordinator_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL"), index=True
    )
    #: Who, as text, so the entry survives the account ("ana@…", "cli", "system").
    actor: Mapped[str] = mapped_column(String(254))
    #: What, as a short verb phrase ("export.csv", "certificate.revoke", …).
    action: Mapped[str] = mapped_column(String(60), index=True)
    #: On what ("edition:3", "enrollment:42", …).
    target: Mapped[str | None] = mapped_column(String(120))
    #: Filters used, values before and after, counts.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
