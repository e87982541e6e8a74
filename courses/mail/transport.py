"""Handing one outbox row to the world: an SMTP server (Flask-Mail) or the development mailbox.

Flask-Mail opens its SMTP connection without a timeout, so a silent server would hold a worker
forever; `TimeoutConnection` is Flask-Mail's connection with `MAIL_TIMEOUT` applied.
Settings are read from `current_app.config` at delivery time (not when the app was built), and
Flask-Mail's `MAIL_SUPPRESS_SEND` is ignored: a configured `MAIL_SERVER` means "really send".
Its `send` is Flask-Mail's too, but writes the message with `courses.mail.mime` (the same bytes,
a fraction of the CPU).
"""

from __future__ import annotations

import smtplib
import time
from functools import lru_cache

from flask import current_app
from flask_mail import BadHeaderError, Connection, Message, email_dispatched
from sqlalchemy import Row

from courses.extensions import mail
from courses.mail import mime
from courses.mail.models import OutboxMessage

SMTP = "smtp"
MAILBOX = "mailbox"


class DeliveryUnavailable(Exception):
    """No way to deliver mail is configured (production without MAIL_SERVER)."""


@lru_cache(maxsize=256)
def _quoted(address: str) -> str:
    return smtplib.quoteaddr(address)


class _QuotedOnce:
    """smtplib's MAIL and RCPT commands, each address quoted once per process.

    `smtplib.quoteaddr` runs the email package's address parser for every command: a fifth of
    the worker's CPU per message, for the same sender every time. The commands are smtplib's
    own, character for character; with SMTPUTF8 among the options smtplib sends them itself.
    """

    def mail(self, sender: str, options=()):
        if any(option.lower() == "smtputf8" for option in options):
            return super().mail(sender, options)
        extra = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("mail", f"FROM:{_quoted(sender)}{extra}")
        return self.getreply()

    def rcpt(self, recip: str, options=()):
        extra = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("rcpt", f"TO:{_quoted(recip)}{extra}")
        return self.getreply()


class _SMTP(_QuotedOnce, smtplib.SMTP):
    pass


class _SMTP_SSL(_QuotedOnce, smtplib.SMTP_SSL):
    pass


class TimeoutConnection(Connection):
    """Flask-Mail's SMTP connection, but one that gives up after `timeout` seconds."""

    def __init__(self, state, timeout: float) -> None:
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        state = self.mail
        if state.use_ssl:
            host = _SMTP_SSL(state.server, state.port, timeout=self.timeout)
        else:
            host = _SMTP(state.server, state.port, timeout=self.timeout)
        try:
            host.set_debuglevel(int(state.debug))
            if state.use_tls:
                host.starttls()
            if state.username and state.password:
                host.login(state.username, state.password)
        except BaseException:
            host.close()
            raise
        return host

    def send(self, message: Message, envelope_from: str | None = None) -> None:
        """Flask-Mail's `Connection.send`, with the message written by `mime.message_bytes`
        and the addresses encoded once per address (`mime.address`)."""
        assert message.send_to, "No recipients have been added"
        assert message.sender, "The message does not specify a sender"
        if message.has_bad_headers():
            raise BadHeaderError
        if message.date is None:
            message.date = time.time()
        if self.host is not None:
            self.host.sendmail(
                mime.address(envelope_from or message.sender),
                [mime.address(to) for to in message.send_to],
                mime.message_bytes(message),
                message.mail_options,
                message.rcpt_options,
            )
        email_dispatched.send(current_app._get_current_object(), message=message)
        self.num_emails += 1
        if self.num_emails == self.mail.max_emails:  # None in `Session`: never reconnects
            self.num_emails = 0
            if self.host:
                self.host.quit()
                self.host = self.configure_host()


def mailbox_enabled() -> bool:
    """Whether /dev/mailbox exists: development and testing only, never in production."""
    config = current_app.config
    return bool(config.get("MAILBOX_ENABLED")) and config.get("ENV_NAME") != "production"


def method() -> str:
    """How mail leaves this process: "smtp" when MAIL_SERVER is set, else "mailbox"."""
    if current_app.config.get("MAIL_SERVER"):
        return SMTP
    if mailbox_enabled():
        return MAILBOX
    raise DeliveryUnavailable("MAIL_SERVER is not configured")


def build_message(row: OutboxMessage | Row) -> Message:
    """The MIME message for a row (the model, or the plain row a claim reads); its Message-ID
    is the row's, so a resend is recognisable."""
    message = Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.body_text,
        html=row.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        date=row.created_at.timestamp() if row.created_at else None,
        # Transactional mail: out-of-office replies and auto-responders should stay quiet.
        extra_headers={"Auto-Submitted": "auto-generated", **(row.headers or {})},
    )
    message.msgId = row.message_id
    return message


class ServerUnavailable(Exception):
    """The mail server could not be reached, greeted or logged into: no message was tried."""


class Session:
    """One way out for a batch of messages: an open SMTP connection, or the mailbox.

    Opening connects (and logs in) once; `send` may then be called for many messages, so a
    batch pays for one TCP/TLS handshake instead of one per message.
    """

    def __init__(self) -> None:
        self.how = method()
        self._connection: TimeoutConnection | None = None
        if self.how == SMTP:
            state = mail.init_mail(current_app.config, current_app.debug)
            state.suppress = False
            state.max_emails = None  # Flask-Mail would reconnect every N messages otherwise
            connection = TimeoutConnection(state, float(current_app.config["MAIL_TIMEOUT"]))
            try:
                connection.host = connection.configure_host()
            except (smtplib.SMTPException, OSError) as error:
                raise ServerUnavailable(f"{type(error).__name__}: {error}") from error
            self._connection = connection

    def send(self, message: Message) -> None:
        """Deliver one message; raise on failure (timeout, SMTP error…)."""
        if self._connection is None:
            # The development mailbox is the outbox table itself: "delivered" means readable.
            return
        self._connection.send(message)

    def close(self) -> None:
        """QUIT politely; a failing QUIT never makes an accepted message count as unsent."""
        connection, self._connection = self._connection, None
        if connection is None or connection.host is None:
            return
        try:
            connection.host.quit()
        except (smtplib.SMTPException, OSError):
            connection.host.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
