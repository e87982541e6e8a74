"""Network stand-ins for the production tests: an SMTP sink, a hung SMTP server, a TCP proxy.

Real servers on 127.0.0.1 (aiosmtpd, plain sockets), not mocks: the application talks to them
exactly as it would to a mail relay or a database host.
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.production.prodkit import free_port
from tests.smtp_servers import hanging, serving

# --- mail ------------------------------------------------------------------------------------


class _Collector:
    port = 0

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()
        #: Optional coroutine function called with each message before the server answers.
        self.on_message = None

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.messages.append(message)
        if self.on_message is not None:
            await self.on_message(message)
        return "250 OK"

    def message_ids(self) -> list[str]:
        """The Message-ID of every message received, unfolded, in order of arrival."""
        with self.lock:
            return ["".join(str(m["Message-ID"]).split()) for m in self.messages]


@contextmanager
def smtp_sink() -> Iterator[_Collector]:
    """A real SMTP server on 127.0.0.1 collecting every message it accepts."""
    with serving(_Collector()) as collector:
        yield collector


#: A server that accepts connections and never says a word (a hung mail server); its port.
hanging_smtp = hanging


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 that a test can stop (cutting every connection) and restart."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        """Refuse new connections and cut the open ones, like a database host going away."""
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()


class SwitchableSmtp:
    """A mail server on a fixed port that is hung (accepts, never answers) until `recover()`.

    While hung, connections are held silently, as by a relay that has stopped answering; once
    recovered, new connections are passed through to a real aiosmtpd server (`target_port`).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.hung = True
        self._proxy = TcpProxy(target_port)
        self.port = self._proxy.port
        self._held: list[socket.socket] = []
        self._proxy._accept = self._accept  # type: ignore[method-assign]

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.hung:
                self._held.append(client)
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._proxy._lock:
                self._proxy._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=TcpProxy._pipe, args=(source, sink), daemon=True).start()

    def start(self) -> SwitchableSmtp:
        self._proxy.start()
        return self

    def recover(self) -> None:
        """The relay answers again (held connections are dropped, as a restart would)."""
        self.hung = False
        for conn in self._held:
            conn.close()
        self._held.clear()

    def stop(self) -> None:
        self.recover()
        self._proxy.stop()


@contextmanager
def switchable_smtp(target_port: int) -> Iterator[SwitchableSmtp]:
    server = SwitchableSmtp(target_port).start()
    try:
        yield server
    finally:
        server.stop()


def slow_down(collector: _Collector, seconds: float) -> None:
    """Make an SMTP sink take `seconds` to answer each message (a slow provider with TLS)."""

    async def wait(_message) -> None:
        await asyncio.sleep(seconds)

    collector.on_message = wait


def meet_in_pairs(collector: _Collector, patience: float = 60.0) -> None:
    """Make an SMTP sink hold each message until two are in flight at once, then let all pass.

    One sender answers one message at a time, so a second message in flight comes from a second
    sender working at the same moment: a rendezvous (like a `threading.Barrier` of two) proving
    that two senders worked side by side, with no timing assumed. After `patience` seconds alone
    a message is answered anyway, so a test whose second sender never comes fails on its own
    assertion instead of hanging."""
    in_flight = 0
    met = asyncio.Event()  # the server's handlers all run on its one event loop

    async def meet(_message) -> None:
        nonlocal in_flight
        in_flight += 1
        if in_flight >= 2:
            met.set()
        try:
            await asyncio.wait_for(met.wait(), patience)
        except TimeoutError:
            pass
        finally:
            in_flight -= 1

    collector.on_message = meet
