from __future__ import annotations

import pytest

from tests.api.api_helpers import seed
from tests.factories import NOW


@pytest.fixture
def world(app):
    app.config["FIXED_NOW"] = NOW
    return seed(app)
