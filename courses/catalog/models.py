"""Courses, their modules and their editions, as loaded from course files."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.database import UTCDateTime, utcnow
from courses.extensions import db

if TYPE_CHECKING:
    from courses.registration.models import Enrollment

COMPLETION_RULES = ("self", "quiz", "coordinator")


class Course(db.Model):
    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint("completion IN ('self', 'quiz', 'coordinator')", name="completion"),
        CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL-safe identifier from the course file; the upsert key.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    #: Localised texts are {"es": "…", "en": "…"}; a plain string in the file becomes {"es": …}.
    title: Mapped[dict] = mapped_column(JSON)
    description: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The programme or initiative the course belongs to, if any.
    initiative: Mapped[dict] = mapped_column(JSON, default=dict)
    organizers: Mapped[list] = mapped_column(JSON, default=list)
    #: Link to the channel or playlist with all the videos.
    channel_url: Mapped[str | None] = mapped_column(String(500))
    #: IANA time zone in which the editions' dates are read and shown.
    timezone: Mapped[str] = mapped_column(String(64))
    #: How a module counts as completed: "self", "quiz" or "coordinator".
    completion: Mapped[str] = mapped_column(String(16), default="self")
    pass_mark: Mapped[int] = mapped_column(Integer, default=70)
    #: ISO 3166-1 alpha-2 codes offered in the registration form, in order.
    countries: Mapped[list] = mapped_column(JSON, default=list)
    #: Who signs the certificates: [{"name", "role": {es, en}, "signature": image | None}].
    #: Images are {"file", "media_type", "width", "height", "data" (base64)}; see branding.py.
    #: Deferred: only certificates read them.
    signatories: Mapped[list] = mapped_column(
        JSON, default=list, deferred=True, deferred_group="branding"
    )
    #: Logos printed on certificates: [{"name", …image}].
    logos: Mapped[list] = mapped_column(
        JSON, default=list, deferred=True, deferred_group="branding"
    )
    #: Whom participants of each country can ask: [{"country", "name": {…}, "email",
    #: "whatsapp"}, …] ([[contacts]] in the course file; email and/or whatsapp).
    contacts: Mapped[list] = mapped_column(JSON, default=list)
    #: Extra registration questions: [{"key", "label": {…}, "kind": "choice" | "text",
    #: "choices": [{…}, …], "required": bool}, …] ([[questions]] in the course file).
    questions: Mapped[list] = mapped_column(JSON, default=list)
    #: The course file as last loaded (CLI or browser), so it can be downloaded and edited.
    #: Deferred: only that download reads it, and every public page loads the course.
    source_toml: Mapped[str | None] = mapped_column(Text, deferred=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    modules: Mapped[list[Module]] = relationship(
        back_populates="course", order_by="Module.position", cascade="all, delete-orphan"
    )
    editions: Mapped[list[Edition]] = relationship(
        back_populates="course", order_by="Edition.registration_closes"
    )

    def __repr__(self) -> str:
        return f"<Course {self.slug}>"


class Module(db.Model):
    __tablename__ = "module"
    __table_args__ = (
        UniqueConstraint("course_id", "position"),
        CheckConstraint("position >= 1", name="position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    #: The module's number, from 1, in the order of the course file.
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict] = mapped_column(JSON)
    description: Mapped[dict] = mapped_column(JSON, default=dict)
    video_url: Mapped[str | None] = mapped_column(String(500))
    minutes: Mapped[int | None] = mapped_column(Integer)
    #: Quiz questions: [{"text": {…}, "choices": [{…}, …], "answer": index}, …].
    #: Deferred: only one module's quiz reads them, while every personal page lists modules.
    questions: Mapped[list] = mapped_column(JSON, default=list, deferred=True)

    course: Mapped[Course] = relationship(back_populates="modules")


class Edition(db.Model):
    __tablename__ = "edition"
    __table_args__ = (
        UniqueConstraint("course_id", "slug"),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint(
            "registration_opens IS NULL OR registration_opens < registration_closes",
            name="window",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    #: First instant registrations are accepted (None: open since the edition was loaded).
    registration_opens: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: First instant registrations are refused. A local date D in the file becomes the
    #: midnight that ends D in the course's time zone, so D itself is included.
    registration_closes: Mapped[datetime] = mapped_column(UTCDateTime)
    #: First instant completions are refused (None: no limit).
    complete_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Places; 0 means unlimited. Beyond it, registrations join the waiting list.
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    #: Proper name printed on certificates, {es, en}; empty: "Edición <slug>".
    name: Mapped[dict] = mapped_column(JSON, default=dict)

    course: Mapped[Course] = relationship(back_populates="editions")
    enrollments: Mapped[list[Enrollment]] = relationship(
        back_populates="edition", order_by="Enrollment.id"
    )

    @hybrid_method
    def is_open(self, now: datetime) -> bool:
        """Whether registrations are accepted at instant `now`."""
        opened = self.registration_opens is None or self.registration_opens <= now
        return opened and now < self.registration_closes

    @is_open.expression
    def is_open(cls, now: datetime):  # noqa: N805 - SQLAlchemy passes the class
        return and_(
            or_(cls.registration_opens.is_(None), cls.registration_opens <= now),
            cls.registration_closes > now,
        )

    def state(self, now: datetime) -> str:
        """ "upcoming", "open" or "closed" at instant `now`."""
        if self.registration_opens is not None and now < self.registration_opens:
            return "upcoming"
        return "open" if now < self.registration_closes else "closed"

    def accepts_completions(self, now: datetime) -> bool:
        return self.complete_by is None or now < self.complete_by

    def __repr__(self) -> str:
        return f"<Edition {self.course_id}/{self.slug}>"
