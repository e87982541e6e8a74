"""Progress through a course: completed modules and quiz attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.catalog.models import Module
from courses.database import UTCDateTime, utcnow
from courses.extensions import db
from courses.registration.models import Enrollment, TouchesEnrollment


class ModuleCompletion(TouchesEnrollment, db.Model):
    __tablename__ = "module_completion"
    __table_args__ = (UniqueConstraint("enrollment_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment.id", ondelete="CASCADE"), index=True
    )
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who said so: "self", "quiz", "coordinator" or "import".
    source: Mapped[str] = mapped_column(String(16))

    enrollment: Mapped[Enrollment] = relationship()
    module: Mapped[Module] = relationship()


class QuizAttempt(db.Model):
    __tablename__ = "quiz_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment.id", ondelete="CASCADE"), index=True
    )
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"))
    #: Chosen choice index per question, in order.
    answers: Mapped[list] = mapped_column(JSON)
    #: Percentage of right answers.
    score: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
