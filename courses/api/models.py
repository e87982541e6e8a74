"""API tokens: a coordinator's keys for partner systems, kept only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.coordination.models import Coordinator
from courses.database import UTCDateTime, utcnow
from courses.extensions import db


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(
        ForeignKey("coordinator.id", ondelete="CASCADE"), index=True
    )
    #: What the coordinator called it ("Registro nacional de pesca").
    name: Mapped[str] = mapped_column(String(80))
    #: SHA-256 of the token, in hex. The token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token's first characters ("cap_Xy3…"), so the owner can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: After this instant the token is refused (None: no expiry).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Updated at most once a minute (see `auth.LAST_USED_GRANULARITY`).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    coordinator: Mapped[Coordinator] = relationship()

    def is_usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at `now`, and its coordinator still active."""
        return (
            self.revoked_at is None
            and (self.expires_at is None or now < self.expires_at)
            and self.coordinator.active
        )
