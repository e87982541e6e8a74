"""Each coordinator's choice of digest; no row means the default (daily)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from courses.extensions import db

OFF = "off"
DAILY = "daily"
WEEKLY = "weekly"
FREQUENCIES = (OFF, DAILY, WEEKLY)


class DigestChoice(db.Model):
    __tablename__ = "digest_choice"
    __table_args__ = (CheckConstraint("frequency IN ('off', 'daily', 'weekly')", name="frequency"),)

    coordinator_id: Mapped[int] = mapped_column(
        ForeignKey("coordinator.id", ondelete="CASCADE"), primary_key=True
    )
    frequency: Mapped[str] = mapped_column(String(10), default=DAILY)
