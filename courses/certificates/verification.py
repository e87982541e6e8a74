"""Checking a QR text, a credential file or a VC-JWT with nothing but the issuer's public keys.

The keys come from a DID document (a did.json saved while online, or passed around) or from the
application's own key ring. No network: `certificates verify` works at a landing site with no
signal. Revocation is the one thing that needs the network (the status list, or /verify/<code>).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from courses.certificates import keys, proofs, qrproof


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check, in words for the command line."""

    kind: str  # "qr", "credential" or "jwt"
    kid: str
    facts: dict[str, str] = field(default_factory=dict)


class Resolver:
    """Finds a public key by key id, by verification method id, or by JWK kid."""

    def __init__(self, did: str, public_keys: dict[str, keys.PublicKey]) -> None:
        self.did = did
        self.public_keys = public_keys

    @classmethod
    def from_did_document(cls, document: dict) -> Resolver:
        found: dict[str, keys.PublicKey] = {}
        for method in document.get("verificationMethod", []):
            kid = str(method.get("id", "")).partition("#")[2].removesuffix("-jwk")
            try:
                if method.get("type") == "Multikey":
                    raw = keys.public_key_from_multibase(method["publicKeyMultibase"])
                elif method.get("type") == "JsonWebKey":
                    raw = keys.b64url_decode(method["publicKeyJwk"]["x"])
                else:
                    continue
            except (KeyError, ValueError):
                continue
            if kid and len(raw) == 32:
                found.setdefault(kid, keys.PublicKey(kid, raw, ""))
        return cls(str(document.get("id", "")), found)

    @classmethod
    def from_ring(cls, did: str, ring: keys.KeyRing) -> Resolver:
        return cls(did, {key.kid: key for key in ring.public_keys})

    def by_kid(self, kid: str) -> keys.PublicKey | None:
        return self.public_keys.get(kid)

    def by_method(self, method_id: str) -> keys.PublicKey | None:
        """A verification method of *this* issuer's DID: did:web:…#<kid> or #<kid>-jwk."""
        did, _hash, fragment = method_id.partition("#")
        if did != self.did:
            return None
        return self.by_kid(fragment.removesuffix("-jwk"))


def verify_text(text: str, resolver: Resolver) -> Verdict:
    """Check a QR text, a credential (JSON-LD) or a VC-JWT; ProofError/QrProofError if bad."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _credential(stripped, resolver)
    if "/verify/" in stripped:
        facts = qrproof.verify_qr(stripped, resolver.by_kid)
        return Verdict(
            "qr",
            facts.kid,
            {
                "code": facts.code,
                "name": facts.name,
                "course": facts.course,
                "edition": facts.edition,
                "issued": facts.issued,
            },
        )
    if stripped.count(".") == 2:
        _header, claims, key = proofs.jws_verify(stripped, resolver.by_method)
        if claims.get("iss") != resolver.did:
            raise proofs.ProofError("the token was not issued by this DID")
        return Verdict("jwt", key.kid, _subject_facts(claims.get("vc") or {}))
    raise proofs.ProofError("not a QR text, a credential (JSON) or a VC-JWT")


def _credential(text: str, resolver: Resolver) -> Verdict:
    try:
        document = json.loads(text)
    except ValueError:
        raise proofs.ProofError("the file is not JSON") from None
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id != resolver.did:
        raise proofs.ProofError(f"the credential's issuer {issuer_id!r} is not {resolver.did}")
    key = proofs.verify_proof(document, resolver.by_method)
    return Verdict("credential", key.kid, _subject_facts(document))


def _subject_facts(credential: dict) -> dict[str, str]:
    subject = credential.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    status = credential.get("credentialStatus") or {}
    return {
        "id": str(credential.get("id", "")),
        "name": str(subject.get("name", "")),
        "course": str(achievement.get("name", "")),
        "issued": str(credential.get("validFrom", "")),
        "status list": str(status.get("statusListCredential", "")),
    }


def load_resolver(did_file: str | None, default: Callable[[], Resolver]) -> Resolver:
    """The resolver of a saved did.json, or the application's own keys when none is given."""
    if not did_file:
        return default()
    with open(did_file, encoding="utf-8") as handle:
        return Resolver.from_did_document(json.load(handle))
