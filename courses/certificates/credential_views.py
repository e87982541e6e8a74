"""Verifiable credentials: the holder's downloads, the issuer's DID document, profile and lists.

`/my/<token>/credential.json` and `/my/<token>/credential.jwt` are the holder's (private, like
the PDF); `/.well-known/did.json`, `/issuer` and `/credentials/status/<n>` are public and may be
cached for a few minutes: a revocation reaches a verifier that checks the list within that time,
and `/verify/<code>` (never cached) stays the authoritative answer.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, render_template

from courses import clock
from courses.certificates import codes, credentials, keys, services
from courses.certificates.views import _download, _holder_certificate
from courses.i18n import current_language, localized
from courses.site.errors import render_error

bp = Blueprint("credentials", __name__)

#: Seconds a verifier or a proxy may reuse the DID document and status lists.
PUBLIC_CACHE_SECONDS = 300


def _public_json(document: dict, mimetype: str = "application/json") -> Response:
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=2) + "\n", mimetype=mimetype
    )
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_CACHE_SECONDS}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # web verifiers read it cross-site
    return response


def _unavailable() -> Response:
    body, status = render_error(503)
    return Response(body, status=status, mimetype="text/html")


@bp.get("/.well-known/did.json")
def did_document():
    return _public_json(credentials.did_document(keys.keyring()))


@bp.get("/credentials/status/<int:number>")
def status_list(number: int):
    if number > services.last_status_list():
        abort(404)
    try:
        document = credentials.status_list_credential(
            number, services.invalid_status_indexes(number), clock.now()
        )
    except credentials.SigningUnavailable:
        return _unavailable()
    return _public_json(document, "application/vc+ld+json")


@bp.get("/issuer")
def issuer():
    language = current_language()
    response = Response(
        render_template(
            "certificates/issuer.html",
            name=credentials.ISSUER_NAME.get(language, credentials.ISSUER_NAME["es"]),
            did=credentials.issuer_did(),
            organizers=services.all_organizers(),
            contact=current_app.config.get("ISSUER_CONTACT"),
            key_ids=[key.kid for key in keys.keyring().public_keys],
            courses=[localized(title, language) for title in services.course_titles()],
        )
    )
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_CACHE_SECONDS}"
    return response


@bp.get("/my/<token>/credential.json")
def credential_json(token: str):
    cert = _holder_certificate(token)
    if isinstance(cert, Response):
        return cert
    try:
        document = credentials.signed_credential(cert)
    except credentials.SigningUnavailable:
        return _unavailable()
    data = json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n"
    name = f"credencial-{codes.format_code(cert.code)}.json"
    return _download(data, "application/ld+json", name, "attachment")


@bp.get("/my/<token>/credential.jwt")
def credential_jwt(token: str):
    cert = _holder_certificate(token)
    if isinstance(cert, Response):
        return cert
    try:
        token_text = credentials.credential_jwt(cert)
    except credentials.SigningUnavailable:
        return _unavailable()
    name = f"credencial-{codes.format_code(cert.code)}.jwt"
    return _download(token_text.encode("ascii"), "application/jwt", name, "attachment")
