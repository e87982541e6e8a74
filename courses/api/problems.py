"""Errors under /api/ as RFC 9457 problem details (application/problem+json), never HTML.

`site.errors` hands every error of a request under /api/ to `problem_for_status`, so 404 and
405 from routing, 429 from the rate limiter and 500s answer in the same form as the API's own.
"""

from __future__ import annotations

import json

from flask import Response, request

from courses.api.schemas import InvalidParam, Problem

MEDIA_TYPE = "application/problem+json"
PREFIX = "/api/"

#: Titles in English: they are for the partner's developers and never change with the locale.
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Content too large",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def problem(
    status: int,
    detail: str | None = None,
    *,
    invalid_params: list[InvalidParam] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response."""
    body = Problem(
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        invalid_params=invalid_params,
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    response.headers["Cache-Control"] = "no-store"
    return response


def problem_for_status(status: int, allow: list[str] | None = None) -> Response:
    """The problem response for an error the application raised (404, 405, 429, 500…)."""
    headers = {"Allow": ", ".join(allow)} if allow else None
    return problem(status, headers=headers)
