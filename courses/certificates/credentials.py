"""The certificate as an Open Badges 3.0 credential, the issuer's DID document, the status list.

The issuer is `did:web` of PUBLIC_BASE_URL's host (a port is written %3A<port>, as the did:web
method says); its DID document at /.well-known/did.json lists every key of the key ring, each
twice: as a `Multikey` (the Data Integrity proofs name it) and as a `JsonWebKey` (the VC-JWT's
`kid` names it). Revocation travels as a BitstringStatusList: certificate number N is bit
N mod 131072 of list N // 131072, set once the certificate is revoked or superseded.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from courses.certificates import keys, proofs
from courses.certificates.content import hours_text, total_minutes
from courses.certificates.models import Certificate
from courses.i18n import localized

#: Bits per status list: the minimum the Bitstring Status List spec asks, for herd privacy.
STATUS_LIST_SIZE = 131072
ISSUER_NAME = {"es": "Capacitaciones de la Alianza del Pacífico", "en": "Pacific Alliance Training"}


class SigningUnavailable(RuntimeError):
    """No signing key exists yet (`flask --app wsgi certificates keys create`)."""


def base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"]


def issuer_did(url: str | None = None) -> str:
    """did:web of the host of PUBLIC_BASE_URL, e.g. did:web:127.0.0.1%3A5000."""
    parts = urlsplit(url or base_url())
    host = parts.hostname or "localhost"
    return f"did:web:{host}%3A{parts.port}" if parts.port else f"did:web:{host}"


def multikey_id(kid: str) -> str:
    return f"{issuer_did()}#{kid}"


def jwk_id(kid: str) -> str:
    return f"{issuer_did()}#{kid}-jwk"


def did_document(ring: keys.KeyRing) -> dict:
    """The DID document: every key ever used, none removed by a rotation."""
    did = issuer_did()
    methods: list[dict] = []
    for key in ring.public_keys:
        methods.append(
            {
                "id": multikey_id(key.kid),
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": key.multibase,
            }
        )
        methods.append(
            {
                "id": jwk_id(key.kid),
                "type": "JsonWebKey",
                "controller": did,
                "publicKeyJwk": {**key.jwk, "kid": key.kid},
            }
        )
    ids = [method["id"] for method in methods]
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/jwk/v1",
        ],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": [],
    }


def signing_key() -> keys.SigningKey:
    ring = keys.keyring()
    if ring.current is None:
        raise SigningUnavailable("no signing key: run `flask --app wsgi certificates keys create`")
    return ring.current


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer_profile(language: str) -> dict:
    return {
        "id": issuer_did(),
        "type": ["Profile"],
        "name": ISSUER_NAME.get(language, ISSUER_NAME["es"]),
        "url": f"{base_url()}/issuer",
    }


def status_entry(cert: Certificate) -> dict:
    """Where the certificate's revocation bit is (BitstringStatusListEntry)."""
    number, index = divmod(cert.id, STATUS_LIST_SIZE)
    list_url = f"{base_url()}/credentials/status/{number}"
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def open_badge(cert: Certificate) -> dict:
    """The unsigned OpenBadgeCredential of a certificate, in the participant's language."""
    enrollment = cert.enrollment
    edition = enrollment.edition
    course = edition.course
    language = enrollment.locale if enrollment.locale in ("es", "en") else "es"
    base = base_url()
    modules = "; ".join(
        f"{module.position}. {localized(module.title, language)}" for module in course.modules
    )
    minutes = total_minutes(course)
    organizers = [localized(name, language) for name in course.organizers or []]
    with force_locale(language):
        narrative = _(
            "Completar los %(count)d módulos del curso: %(modules)s.",
            count=len(course.modules),
            modules=modules,
        )
        if minutes:
            narrative += " " + _(
                "Duración total: %(hours)s horas.", hours=hours_text(minutes, language)
            )
        if organizers:
            narrative += " " + _("Organizan: %(names)s.", names=", ".join(organizers))
        name = _("Certificado de participación")
    return {
        "@context": [proofs.CREDENTIALS_V2, proofs.OPEN_BADGES_V3],
        "id": f"{base}/verify/{cert.code}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{name}: {localized(course.title, language)}",
        "issuer": issuer_profile(language),
        "validFrom": _timestamp(cert.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": cert.holder_name,
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": cert.holder_name,
                    "identityType": "name",
                    "hashed": False,
                }
            ],
            "achievement": {
                "id": f"{base}/courses/{course.slug}#{edition.slug}",
                "type": ["Achievement"],
                "achievementType": "Course",
                "name": localized(course.title, language),
                "description": localized(course.description, language)
                or localized(course.title, language),
                "criteria": {"narrative": narrative},
                "creator": {
                    "id": f"{base}/courses/{course.slug}#organizers",
                    "type": ["Profile"],
                    "name": ", ".join(organizers) or issuer_profile(language)["name"],
                },
                "inLanguage": language,
            },
        },
        "credentialStatus": status_entry(cert),
    }


def signed_credential(cert: Certificate) -> dict:
    """The OpenBadgeCredential with its embedded DataIntegrityProof (eddsa-rdfc-2022)."""
    key = signing_key()
    return proofs.add_proof(
        open_badge(cert), key, multikey_id(key.public.kid), _timestamp(cert.issued_at)
    )


def credential_jwt(cert: Certificate) -> str:
    """The same credential as a VC-JWT (Open Badges 3.0 §8.2: the credential in `vc`)."""
    key = signing_key()
    credential = open_badge(cert)
    claims = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": int(cert.issued_at.timestamp()),
        "iat": int(cert.issued_at.timestamp()),
        "vc": credential,
    }
    return proofs.jws_sign(claims, key, jwk_id(key.public.kid))


def status_list_credential(number: int, set_bits: Iterable[int], now: datetime) -> dict:
    """The signed BitstringStatusListCredential of list `number` with `set_bits` set."""
    bits = bytearray(STATUS_LIST_SIZE // 8)
    for index in set_bits:
        # Index 0 is the left-most bit of the first byte (Bitstring Status List §3.1).
        bits[index // 8] |= 0x80 >> (index % 8)
    encoded = "u" + keys.b64url(gzip.compress(bytes(bits), mtime=0))
    list_url = f"{base_url()}/credentials/status/{number}"
    document = {
        "@context": [proofs.CREDENTIALS_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did(),
        "validFrom": _timestamp(now),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    key = signing_key()
    return proofs.add_proof(document, key, multikey_id(key.public.kid), _timestamp(now))


def status_bit(status_list: dict, index: int) -> bool:
    """Whether bit `index` is set in a status list credential (read, not verified)."""
    encoded = status_list["credentialSubject"]["encodedList"]
    bits = gzip.decompress(keys.b64url_decode(encoded[1:]))
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
