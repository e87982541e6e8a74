"""Certificates of participation and requests to correct the name on one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, and_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.database import UTCDateTime, utcnow
from courses.extensions import db
from courses.registration.models import Enrollment, TouchesEnrollment


class Certificate(TouchesEnrollment, db.Model):
    __tablename__ = "certificate"
    __table_args__ = (
        # Exactly one first certificate per enrollment, even under a double submit; a reissue
        # is the next generation and supersedes the one before.
        UniqueConstraint("enrollment_id", "generation"),
        CheckConstraint("generation >= 1", name="generation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment.id", ondelete="RESTRICT"), index=True
    )
    generation: Mapped[int] = mapped_column(Integer, default=1)
    #: 10 characters without look-alikes, the last a check character; shown as XXXXX-XXXXX.
    code: Mapped[str] = mapped_column(String(10), unique=True)
    #: The name printed, kept here so the certificate stays verifiable after a privacy purge.
    holder_name: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate.id", ondelete="SET NULL")
    )
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bytes of the PDF and PNG in the holder's language, measured on the holder's first visit
    #: (the personal page shows them, for paid data); NULL until then (see sizes.py).
    pdf_bytes: Mapped[int | None] = mapped_column(Integer)
    png_bytes: Mapped[int | None] = mapped_column(Integer)
    #: What the sizes were measured from (documents.sizes_digest): a course file reloaded, a new
    #: signing key or a new layout changes the documents, and the page then measures again.
    sizes_digest: Mapped[str | None] = mapped_column(String(64))

    enrollment: Mapped[Enrollment] = relationship()
    superseded_by: Mapped[Certificate | None] = relationship(remote_side=[id])

    @hybrid_property
    def is_valid(self) -> bool:
        """Neither revoked nor superseded: what /verify calls valid (Python and SQL alike)."""
        return self.revoked_at is None and self.superseded_by_id is None

    @is_valid.inplace.expression
    @classmethod
    def _is_valid_expression(cls):
        return and_(cls.revoked_at.is_(None), cls.superseded_by_id.is_(None))


class NameCorrection(db.Model):
    """A participant's request to fix the name on their certificate, decided by a coordinator."""

    __tablename__ = "name_correction"
    __table_args__ = (
        CheckConstraint(
            "decision IS NULL OR decision IN ('approved', 'rejected')", name="decision"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment.id", ondelete="CASCADE"), index=True
    )
    requested_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )

    enrollment: Mapped[Enrollment] = relationship()
