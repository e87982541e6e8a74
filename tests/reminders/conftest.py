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


@pytest.fixture
def app(app):
    """LEGACY, until this directory's tests open their own contexts (issue 15): the test body
    runs inside one application context, which every request of the test shares."""
    with app.app_context():
        yield app
