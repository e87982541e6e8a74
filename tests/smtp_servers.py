"""Real SMTP servers on 127.0.0.1 for the tests that deliver mail (the fixtures are in
tests/conftest.py): one that keeps what it accepts, one that holds each message until told,
one that refuses for good, one that only postpones, one that accepts connections and never
answers, and a port nobody serves."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


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


class HoldingInbox(Inbox):
    """An `Inbox` that holds every message until `release` is set: a mail server as slow as a
    test needs, with no timing assumed. `arrived` is set when the first message is in hand."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        self.arrived.set()
        while not self.release.is_set():  # the server's one event loop serves the others
            await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


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


@contextmanager
def serving(handler):
    """Run a real SMTP server (aiosmtpd) with `handler` on 127.0.0.1 and a free port; the
    handler's `port` says which."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


@contextmanager
def hanging() -> Iterator[int]:
    """A server that accepts connections and never answers (a hung mail server); its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
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
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
