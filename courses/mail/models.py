"""The outbox: every e-mail is a row first, committed with what caused it, delivered after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from courses.database import UTCDateTime, utcnow
from courses.extensions import db


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: RFC 5322 Message-ID, fixed when queued, so a message delivered twice is recognisable.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    #: What the message is for ("confirmation", "certificate", "lost-link", …).
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    #: One key per inbox however the address is spelled (`services.recipient_key`), for caps.
    recipient_key: Mapped[str | None] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    #: Extra header fields (e.g. List-Unsubscribe on reminders), name → value.
    headers: Mapped[dict | None] = mapped_column(JSON)
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollment.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Not before this instant; the sender skips messages whose time has not come.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: While a sender holds the message (claimed, on its way): others leave it alone until then.
    #: A sender that dies leaves this behind; the message is taken up again once it has passed.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set once the SMTP server (or the development mailbox) accepted it.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Set when delivery was given up: the server refused it for good (an SMTP 5xx answer) or
    #: MAX_ATTEMPTS attempts failed. Such a message is not retried, nor counted as backlog.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
