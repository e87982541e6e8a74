"""The worker writes each message itself (courses.mail.mime): the very bytes Flask-Mail writes,
and its MAIL and RCPT commands are smtplib's (transport._QuotedOnce).

Each case builds the same Flask-Mail `Message` twice with the random generator in the same
state, so that both draw the same boundaries, and compares Flask-Mail's `as_bytes()` with
`mime.message_bytes`: equal bytes, or the same error.
"""

from __future__ import annotations

import random
import smtplib
from datetime import UTC, datetime

import pytest
from flask_mail import Message

from courses.extensions import db
from courses.mail import mime, transport
from tests.factories import OPEN_NOW, make_course, messages, submit

SENDER = "Alianza del Pacífico <no-reply@capacitacion.local>"
BODY = "Hola, María:\n\nTu inscripción está hecha.\nhttps://example.org/my/abc\n"
HTML = "<!doctype html>\n<p>Hola, María:</p>\n<p>Tu inscripción está hecha.</p>"
LONG_SUBJECT = "Inscripción hecha: Ciclo de capacitaciones para Pesca y Acuicultura de la Alianza"

CASES = {
    "confirmation": {},
    "plain text only": {"html": None},
    "ASCII bodies (7bit)": {"body": "Hello:\n\nYou are registered.\n", "html": "<p>Hi</p>"},
    "short subject": {"subject": "Tu enlace: Pesca y acuicultura"},
    "ASCII subject": {"subject": "Your link"},
    "long subject folded by RFC 2047": {"subject": LONG_SUBJECT},
    "longer subject": {"subject": LONG_SUBJECT * 3},
    "no subject": {"subject": ""},
    "CRLF, CR and no final newline": {"body": "uno\r\ndos\rtres\ncuatro", "html": "a\r\nb"},
    "lines a server might mangle": {"body": "From here\n.\n..dot\n" + "x" * 1200 + "\n"},
    "empty HTML": {"html": ""},
    "empty body": {"body": ""},
    "boundary look-alike in the body": {"body": "--===============0000000000000000000==\n"},
    "ASCII sender": {"sender": "no-reply@example.org"},
    "sender with a quoted name": {"sender": '"Pesca, Acuicultura" <no-reply@example.org>'},
    "recipient with a name": {"recipients": ["María José <maria@example.org>"]},
    "IDN domain": {"recipients": ["jose@bücher.example"]},
    "non-ASCII local part": {"recipients": ["josé@example.org"]},
    "two recipients": {"recipients": ["a@example.org", "b@example.org"]},
    "reminder headers": {
        "extra_headers": {
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": "<https://example.org/stop/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    },
    "a header the policy refolds": {
        "extra_headers": {"List-Unsubscribe": "<https://example.org/stop/" + "a" * 90 + ">"}
    },
    "a long non-ASCII header": {"extra_headers": {"X-Curso": "Módulo " * 20}},
    "a non-ASCII header": {"extra_headers": {"X-Curso": "Pesca y acuicultura: módulo 1"}},
    "a folded header kept as it is": {"extra_headers": {"X-Note": "one\n two"}},
    "a header whose value is not text": {"extra_headers": {"X-Count": 3}},
    "a body UTF-8 cannot encode": {"body": "Hola \ud800"},
    "an HTML UTF-8 cannot encode": {"html": "<p>\udfff</p>"},
}


def build(**changes) -> Message:
    fields = {
        "subject": "Inscripción hecha: Ciclo de capacitaciones para Pesca y…",  # refolded
        "recipients": ["maria@example.org"],
        "body": BODY,
        "html": HTML,
        "sender": SENDER,
        "date": datetime(2023, 7, 10, 15, 0, tzinfo=UTC).timestamp(),
        "extra_headers": {"Auto-Submitted": "auto-generated"},
    }
    fields.update(changes)
    message = Message(**fields)
    message.msgId = "<0123456789abcdef.confirmation@example.org>"
    return message


def written(write, changes: dict, seed: int) -> bytes | tuple[type, str]:
    random.seed(seed)
    message = build(**changes)
    try:
        return write(message)
    except Exception as error:  # noqa: BLE001 - the same failure is part of the contract
        return type(error), str(error)


@pytest.mark.parametrize("case", CASES)
def test_a_message_is_written_exactly_as_flask_mail_writes_it(app, case):
    with app.app_context():
        for seed in range(3):
            expected = written(Message.as_bytes, CASES[case], seed)
            assert written(mime.message_bytes, CASES[case], seed) == expected


def test_the_usual_message_is_written_without_the_email_package(app, monkeypatch):
    def refused(_message):
        raise AssertionError("Flask-Mail's as_bytes was used")

    with app.app_context():
        expected = written(Message.as_bytes, {}, 7)
        monkeypatch.setattr(Message, "as_bytes", refused)
        for case in ("confirmation", "plain text only", "reminder headers", "ASCII sender"):
            assert isinstance(mime.message_bytes(build(**CASES[case])), bytes)
        assert written(mime.message_bytes, {}, 7) == expected


def test_a_stored_confirmation_is_written_as_flask_mail_writes_it(app, client):
    app.config["FIXED_NOW"] = OPEN_NOW
    with app.app_context():
        make_course()
        db.session.commit()
    assert submit(client).status_code == 303
    with app.app_context():
        [row] = messages()
        random.seed(1)
        expected = transport.build_message(row).as_bytes()
        random.seed(1)
        assert mime.message_bytes(transport.build_message(row)) == expected


class Recorded:
    """An SMTP client that records the commands it would send and answers 250."""

    def __init__(self, esmtp: bool) -> None:
        self.does_esmtp = esmtp
        self.sent: list[tuple[str, str]] = []
        self.command_encoding = "ascii"

    def putcmd(self, command: str, args: str = "") -> None:
        self.sent.append((command, args))

    def getreply(self):
        return 250, b"OK"

    def has_extn(self, name: str) -> bool:
        return True


class Stdlib(Recorded):
    mail = smtplib.SMTP.mail
    rcpt = smtplib.SMTP.rcpt


class Ours(transport._QuotedOnce, Stdlib):
    pass


@pytest.mark.parametrize("esmtp", [True, False])
@pytest.mark.parametrize(
    "options", [(), ("size=1234",), ("size=1", "BODY=8BITMIME"), ("SMTPUTF8",)]
)
@pytest.mark.parametrize(
    "address",
    [SENDER, "maria@example.org", "<maria@example.org>", "María <m@example.org>", "", "a b"],
)
def test_the_mail_and_rcpt_commands_are_smtplibs(esmtp, options, address):
    expected, ours = Stdlib(esmtp), Ours(esmtp)
    for client in (expected, ours):
        client.mail(address, list(options))
        client.rcpt(address, list(options))
    assert ours.sent == expected.sent
    assert ours.command_encoding == expected.command_encoding
