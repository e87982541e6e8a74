"""Schemathesis reads /api/v1/openapi.json and fuzzes every operation against the app (WSGI):
no answer may be a server error or contradict the document (status code, content type,
headers, body schema). Examples are bounded, so this stays a quick part of `make test`.

Schemathesis' own pytest loader (`from_fixture`) does not run on pytest 9, so each operation's
Hypothesis strategy (`as_strategy`) is driven here with `@given`.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.api.api_helpers import bearer, seed
from tests.factories import NOW

EXAMPLES = 25
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def world(app):
    app.config["FIXED_NOW"] = NOW
    return seed(app)


def _run(operation, headers: dict, mode: GenerationMode, **fixed) -> None:
    # Schemathesis calls the app through Werkzeug's client, which decodes no Content-Encoding,
    # while it asks for compressed answers: ask for the plain body the document describes.
    headers = {"Accept-Encoding": "identity", **headers}
    strategy = operation.as_strategy(generation_mode=mode, **fixed)

    @SETTINGS
    @given(case=strategy)
    def check(case):
        if mode is GenerationMode.POSITIVE:
            case.call_and_validate(headers=headers)
        else:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.as_curl_command(), response.text)

    check()


def test_api_answers_match_the_openapi_document(app, world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # A country token: the narrowest scope, whose filters must not leak anything.
    headers = bearer(world.tokens["country"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {
        "/api/v1/editions",
        "/api/v1/editions/{course_slug}/{edition_slug}/enrollments",
        "/api/v1/certificates/{code}",
    }
    for operation in operations:
        _run(operation, headers, GenerationMode.POSITIVE)
        # Random path parameters are (almost) always 404; fuzz the real things too, and there
        # send what the document forbids (negative mode: only the query has rules to break).
        if "{course_slug}" in operation.path:
            real = {"course_slug": "pesca-acuicultura", "edition_slug": "2023"}
            _run(operation, headers, GenerationMode.POSITIVE, path_parameters=real)
            _run(operation, headers, GenerationMode.NEGATIVE, path_parameters=real)
            _run(operation, headers, GenerationMode.NEGATIVE)
            _run(
                operation,
                bearer(world.tokens["admin"]),
                GenerationMode.POSITIVE,
                path_parameters=real,
            )
        if "{code}" in operation.path:
            _run(
                operation,
                {},
                GenerationMode.POSITIVE,
                path_parameters={"code": world.codes["camila"]},
            )
