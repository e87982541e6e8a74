"""A real HTTP server on 127.0.0.1 that receives webhooks, as a partner's system would; and a
raw one that dribbles its answer, as a broken or hostile one might."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    #: Answer 500 to this many requests before answering 204.
    fail_first: int = 0
    #: When given, each answer waits until it is set: a receiver that takes its time.
    release: threading.Event | None = None


@contextmanager
def receiver(fail_first: int = 0, release: threading.Event | None = None) -> Iterator[Receiver]:
    state = Receiver(url="", fail_first=fail_first, release=release)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                Received(dict(self.headers.items()), self.rfile.read(length), self.path)
            )
            if state.release is not None:
                state.release.wait(timeout=120)
            failing = len(state.requests) <= state.fail_first
            self.send_response(500 if failing else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/courses"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class SlowReceiver:
    url: str
    #: Requests read in full (headers and body) before the answer began.
    requests: int = 0
    #: Bytes of the answer sent before the sender hung up (or the answer ended).
    sent: int = 0
    #: Set when the sender closed the connection before the whole answer was sent.
    hung_up: threading.Event = field(default_factory=threading.Event)


@contextmanager
def slow_receiver(answer: Callable[[], Iterable[bytes]], interval: float) -> Iterator[SlowReceiver]:
    """Read each request, then send `answer()` a piece every `interval` seconds, until it ends,
    the sender hangs up, or the block ends."""
    state = SlowReceiver(url="")
    closing = threading.Event()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.rfile.read(length)
            state.requests += 1
            try:
                for piece in answer():
                    if closing.wait(interval):
                        return
                    self.connection.sendall(piece)
                    state.sent += len(piece)
            except OSError:  # broken pipe, reset: the sender closed its end
                state.hung_up.set()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/slow"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        closing.set()
        server.shutdown()
        server.server_close()
        thread.join()
