"""API tokens (a coordinator's keys, kept only as hashes), webhooks and their deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
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


class Webhook(db.Model):
    """A partner's URL that is told about events, registered by an admin."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    #: Shared with the receiver to sign each delivery (HMAC needs it in clear; admins only).
    secret: Mapped[str] = mapped_column(String(200))
    #: Subscribed event types, e.g. ["registration.created", "certificate.issued"].
    events: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )


class WebhookDelivery(db.Model):
    """One event for one webhook: committed with the change that caused it, sent by the worker."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhook.id", ondelete="CASCADE"), index=True
    )
    #: The event's id, the same in every delivery of it (a receiver drops repeats by it).
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    event: Mapped[str] = mapped_column(String(40))
    #: The JSON body, fixed when the event happened.
    body: Mapped[str] = mapped_column(Text)
    #: Whose data the body holds, so erasing a person's data erases their deliveries too.
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollment.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Not before this instant (a retry's backoff, or a worker's claim while it sends).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Given up after MAX_ATTEMPTS failures; "send again" makes a new delivery.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)

    webhook: Mapped[Webhook] = relationship()
