"""Reminder tests share the mail tests' real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mail.conftest import Inbox, _serve


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = _serve(inbox)
    yield inbox
    controller.stop()
