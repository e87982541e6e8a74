"""The benchmark's stand-in mail servers count what they accept, across a change of delay."""

from __future__ import annotations

import smtplib
import time

import pytest

from bench.servers import MailCatcher, SmtpSink, mail_server


def _send(port: int, count: int) -> float:
    """Send `count` messages over one connection; the seconds the last one took."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        for _ in range(count):
            started = time.monotonic()
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nhola\r\n")
    return time.monotonic() - started


@pytest.mark.parametrize("choice", ["smtp-sink", "aiosmtpd"])
def test_counts_across_a_change_of_delay(choice, tmp_path):
    if choice == "smtp-sink" and SmtpSink.find() is None:
        pytest.skip("postfix's smtp-sink is not installed (apt-get install -y postfix)")
    server = mail_server(tmp_path, choice).start()
    try:
        assert isinstance(server, SmtpSink if choice == "smtp-sink" else MailCatcher)
        assert _send(server.port, 3) < 0.9
        server.set_delay(1.0)
        assert _send(server.port, 1) >= 0.9  # the slow provider: each answer after 1 s
        server.set_delay(0.0)
        assert _send(server.port, 2) < 0.9
        deadline = time.monotonic() + 5
        while server.count < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.count == 6
        assert "6 messages" in server.summary()
    finally:
        server.stop()
