"""Who asked to stop receiving reminders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from courses.database import UTCDateTime
from courses.extensions import db


class ReminderStop(db.Model):
    """One enrollment that receives no more reminders (other mail, e.g. its certificate, goes)."""

    __tablename__ = "reminder_stop"

    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment.id", ondelete="CASCADE"), primary_key=True
    )
    stopped_at: Mapped[datetime] = mapped_column(UTCDateTime)
