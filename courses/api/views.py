"""The read-only API for partner systems: `/api/v1/…`, JSON documents from `schemas`.

Thin handlers: authenticate, read the query through its schema, call a service, answer with
the document (and an ETag, so a partner polling an unchanged list gets 304 and no body).
Each route says what it answers with `documented`, which the OpenAPI document is built from.
"""

from __future__ import annotations

import json
from typing import TypeVar

from flask import Blueprint, Response, abort, current_app, render_template, request
from pydantic import BaseModel, ValidationError

from courses import clock, limits
from courses.api import auth, openapi, schemas, services
from courses.api.openapi import documented
from courses.api.problems import problem
from courses.certificates import codes
from courses.certificates.services import find_by_code
from courses.database import writes
from courses.extensions import db, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")

Q = TypeVar("Q", bound=BaseModel)


def _token_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT") or limits.API_PER_TOKEN


_per_token = limiter.limit(_token_limit, key_func=auth.rate_limit_key)
_per_client = limiter.limit(limits.API_PER_CLIENT)


def json_response(document: BaseModel, *, etag: bool = True) -> Response:
    """The document as UTF-8 JSON; with an ETag, answered 304 when the client has it already."""
    body = json.dumps(
        document.model_dump(mode="json", by_alias=True), ensure_ascii=False, separators=(",", ":")
    )
    response = Response(body, mimetype="application/json")
    # Personal data: a shared cache must not keep it, and the client must revalidate.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Authorization")
    if etag:
        response.add_etag()
        response.make_conditional(request)
    return response


def read_query(model: type[Q]) -> Q:
    """The query string read through `model`; 400 with each wrong parameter named."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        params = [
            schemas.InvalidParam(
                name=".".join(str(part) for part in item["loc"]) or "query", reason=item["msg"]
            )
            for item in error.errors(include_url=False)
        ]
        abort(problem(400, "Some query parameters are not valid.", invalid_params=params))


@bp.get("/editions")
@_per_client
@_per_token
@documented(
    summary="Editions the token may see",
    response=schemas.EditionList,
    authenticated=True,
)
def editions():
    token = auth.current_token()
    return json_response(services.editions(token.coordinator, clock.now()))


@bp.get("/editions/<course_slug>/<edition_slug>/enrollments")
@_per_client
@_per_token
@documented(
    summary="An edition's enrollments, oldest change first",
    description=(
        "Paged with a cursor: follow `links.next` until it is null. For an incremental sync, "
        "keep the largest `updated_at` seen and pass it as `updated_since` next time. A "
        "country coordinator's token only ever sees enrollments from that country."
    ),
    response=schemas.EnrollmentPage,
    query=schemas.EnrollmentQuery,
    authenticated=True,
    not_found=True,
)
@writes  # every answer is audited: one transaction that reads and writes, committed here
def enrollments(course_slug: str, edition_slug: str):
    token = auth.current_token()
    coordinator = token.coordinator
    edition = services.find_edition(coordinator, course_slug, edition_slug)
    if edition is None:
        abort(problem(404, "No such edition, or not within this token's scope."))
    query = read_query(schemas.EnrollmentQuery)
    try:
        page = services.enrollment_page(coordinator, edition, query)
    except services.BadCursor:
        params = [schemas.InvalidParam(name="cursor", reason="Not a cursor of this API.")]
        abort(problem(400, "The cursor is not valid.", invalid_params=params))
    response = json_response(page)
    filters = query.model_dump(mode="json", exclude_none=True)
    auth.audit_read(token, "api.enrollments", f"edition:{edition.id}", filters=filters,
                    rows=len(page.data))  # fmt: skip
    db.session.commit()
    return response


@bp.get("/certificates/<code>")
@limiter.limit(limits.VERIFY_PER_CLIENT)
@documented(
    summary="Verify a certificate (public, no token)",
    description="The same answer as the page `/verify/<code>` that the certificate's QR opens.",
    response=schemas.Verification,
    not_found=True,
)
def certificate(code: str):
    try:
        normalized = codes.normalize(code)
    except codes.CodeError:
        abort(problem(404, "No certificate can have this code."))
    cert = find_by_code(normalized)
    if cert is None:
        abort(problem(404, "No certificate has this code."))
    return json_response(services.verification(cert))


@bp.get("/openapi.json")
def openapi_document():
    response = Response(
        json.dumps(openapi.document(), ensure_ascii=False, indent=1), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/docs")
def reference():
    """The OpenAPI document as a readable page (no scripts, nothing from elsewhere)."""
    return render_template("api/reference.html", **openapi.reference())
