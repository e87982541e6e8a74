"""Mail test fixtures: a real SMTP server on 127.0.0.1, a hung one, and a port nobody serves."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        #: One entry per SMTP connection that delivered something.
        self.sessions: set[int] = set()
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        self.sessions.add(id(session))
        return "250 OK"


class RefusingInbox:
    """An aiosmtpd handler refusing every recipient for good (550), as for an unknown mailbox."""

    port = 0

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:  # noqa: N802
        return "550 5.1.1 No such mailbox"


class BusyInbox:
    """An aiosmtpd handler answering every recipient "try again later" (451), as when throttled."""

    port = 0

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:  # noqa: N802
        return "451 4.7.1 Try again later"


def _serve(handler):
    """Run a real SMTP server (aiosmtpd) with `handler` on 127.0.0.1 and a free port."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    return controller


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port."""
    inbox = Inbox()
    controller = _serve(inbox)
    yield inbox
    controller.stop()


@pytest.fixture
def refusing_server() -> Iterator[RefusingInbox]:
    """A real SMTP server that refuses every recipient with 550."""
    handler = RefusingInbox()
    controller = _serve(handler)
    yield handler
    controller.stop()


@pytest.fixture
def busy_server() -> Iterator[BusyInbox]:
    """A real SMTP server that refuses every recipient for now (451)."""
    handler = BusyInbox()
    controller = _serve(handler)
    yield handler
    controller.stop()


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A server that accepts connections and never answers (a hung mail server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def dead_port() -> int:
    """A port where nothing listens: connections are refused at once."""
    return free_port()


@pytest.fixture
def app(app):
    """LEGACY, until this directory's tests open their own contexts (issue 15): the test body
    runs inside one application context, which every request of the test shares."""
    with app.app_context():
        yield app
