"""Fixtures of the site tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def app(app, request):
    """LEGACY for test_pagecache.py only, which issue 15 part 4 deletes with the page cache
    (delete this file with it): that module's test body runs inside one application context,
    which every request of the test shares. The other site tests open their own contexts."""
    if request.module.__name__ != "tests.site.test_pagecache":
        yield app
        return
    with app.app_context():
        yield app
