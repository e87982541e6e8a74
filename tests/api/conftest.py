from __future__ import annotations

import pytest

from tests.api.api_helpers import seed
from tests.coordination.helpers import NOW


@pytest.fixture
def world(app):
    app.config["FIXED_NOW"] = NOW
    return seed(app)


@pytest.fixture
def app(app):
    """LEGACY, until this directory's tests open their own contexts (issue 15): the test body
    runs inside one application context, which every request of the test shares."""
    with app.app_context():
        yield app
