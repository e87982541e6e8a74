"""Fixtures of the production tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def app(app):
    """LEGACY, until this directory's tests open their own contexts (issue 15): the test body
    runs inside one application context, which every request of the test shares."""
    with app.app_context():
        yield app
