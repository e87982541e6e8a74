"""A real HTTP server on 127.0.0.1 that receives webhooks, as a partner's system would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
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
