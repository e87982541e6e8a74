"""Data Integrity proofs (cryptosuite eddsa-rdfc-2022) and compact JWS (alg EdDSA).

eddsa-rdfc-2022 (https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022): canonicalise the
document without its proof and the proof options (with the document's `@context`) with RDFC-1.0
(pyld's URDNA2015, the same algorithm), hash each with SHA-256, sign hash(options) ‖
hash(document) with Ed25519, and write the signature as "z" + base58btc.

The JSON-LD document loader serves only the contexts vendored in `contexts/` (see SOURCES.md):
a document naming any other context is refused, and nothing is ever fetched.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld

from courses.certificates.keys import (
    PublicKey,
    SigningKey,
    b64url,
    b64url_decode,
    base58btc,
    base58btc_decode,
)

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OPEN_BADGES_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: Context URL → vendored file. Tests may add their own with `extra_contexts`.
VENDORED = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    OPEN_BADGES_V3: "ob-v3p0-context-3.0.3.json",
}
CRYPTOSUITE = "eddsa-rdfc-2022"


class ProofError(ValueError):
    """A document whose proof does not hold; the message says why."""


@cache
def _context(url: str) -> dict[str, Any]:
    return json.loads((CONTEXTS_DIR / VENDORED[url]).read_text(encoding="utf-8"))


def document_loader(extra: dict[str, dict] | None = None) -> Callable[..., dict]:
    """A pyld document loader that answers from local copies only."""

    def load(url: str, options: dict | None = None) -> dict:
        if extra and url in extra:
            document = extra[url]
        elif url in VENDORED:
            document = _context(url)
        else:
            raise jsonld.JsonLdError(
                f"context {url} is not one of the vendored contexts; nothing is fetched",
                "jsonld.LoadDocumentError",
                code="loading document failed",
            )
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document)}

    return load


def canonical_nquads(document: dict, extra_contexts: dict[str, dict] | None = None) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document."""
    try:
        return jsonld.normalize(
            document,
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": document_loader(extra_contexts),
                "safe": True,  # a term no context defines is an error, not silently dropped
            },
        )
    except jsonld.JsonLdError as error:
        raise ProofError(f"the document is not valid JSON-LD here: {error}") from None


def hash_data(unsecured: dict, options: dict, extra: dict[str, dict] | None = None) -> bytes:
    """hash(canonical proof options) ‖ hash(canonical document): what Ed25519 signs."""
    config = {**options, "@context": unsecured["@context"]}
    config.pop("proofValue", None)
    options_hash = hashlib.sha256(canonical_nquads(config, extra).encode()).digest()
    document_hash = hashlib.sha256(canonical_nquads(unsecured, extra).encode()).digest()
    return options_hash + document_hash


def add_proof(
    document: dict, key: SigningKey, method: str, created: str, extra: dict | None = None
) -> dict:
    """A copy of `document` with an embedded DataIntegrityProof by `key`."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    }
    signature = key.sign(hash_data(unsecured, options, extra))
    return {**unsecured, "proof": {**options, "proofValue": "z" + base58btc(signature)}}


def verify_proof(
    document: dict, resolve: Callable[[str], PublicKey | None], extra: dict | None = None
) -> PublicKey:
    """The key whose eddsa-rdfc-2022 proof on `document` holds; ProofError otherwise."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise ProofError("the document has no single embedded proof")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"the proof is not a DataIntegrityProof with {CRYPTOSUITE}")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofError("the proof's purpose is not assertionMethod")
    key = resolve(str(proof.get("verificationMethod", "")))
    if key is None:
        raise ProofError(f"unknown verification method {proof.get('verificationMethod')!r}")
    value = str(proof.get("proofValue", ""))
    try:
        signature = base58btc_decode(value[1:]) if value.startswith("z") else b""
    except ValueError:
        signature = b""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if not key.verify(signature, hash_data(unsecured, proof, extra)):
        raise ProofError("the signature does not match the document: it was changed")
    return key


def jws_sign(payload: dict, key: SigningKey, kid: str) -> str:
    """A compact JWS (RFC 7515) with alg EdDSA over the JSON of `payload`."""
    header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    )
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


def jws_verify(
    token: str, resolve: Callable[[str], PublicKey | None]
) -> tuple[dict, dict, PublicKey]:
    """(header, payload, key) of a compact JWS whose EdDSA signature holds; ProofError if not."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ProofError("a compact JWS has three parts separated by dots")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError:
        raise ProofError("the JWS is not base64url-encoded JSON") from None
    if header.get("alg") != "EdDSA":
        raise ProofError("only alg EdDSA is accepted")
    key = resolve(str(header.get("kid", "")))
    if key is None:
        raise ProofError(f"unknown key {header.get('kid')!r}")
    if not key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii")):
        raise ProofError("the signature does not match the token: it was changed")
    return header, payload, key
