"""Open Badges 3.0 credentials: signed, checked by a second implementation, revocable, rotatable."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pyld import jsonld

from courses.certificates import credentials, keys, proofs
from courses.certificates.models import Certificate
from courses.certificates.services import (
    current_certificate,
    reissue_certificate,
    revoke_certificate,
)
from courses.extensions import db
from courses.participants.services import mark_module
from courses.registration.models import Enrollment
from tests.factories import ACCENTED_NAME, NOW, enroll, make_course

VECTORS = json.loads((Path(__file__).parent / "data" / "vc-di-eddsa-rdfc-2022.json").read_text())


def _certified(name: str = ACCENTED_NAME, locale: str = "es"):
    edition = make_course(completion="coordinator")
    enrollment, token = enroll(edition, locale=locale, name=name)
    for module in edition.course.modules:
        mark_module(enrollment, module, source="coordinator", now=NOW)
    db.session.commit()
    return enrollment, token


# --- A second, independent verifier: its own RDFC-1.0 labelling and PyNaCl for Ed25519. ------


def _independent_canonical(document: dict) -> str:
    """RDFC-1.0 for graphs whose blank nodes have distinct first-degree hashes (ours do)."""
    raw = jsonld.to_rdf(
        document,
        {"format": "application/n-quads", "documentLoader": proofs.document_loader()},
    )
    lines = [line for line in raw.splitlines() if line]
    blanks = sorted({token for line in lines for token in line.split() if token.startswith("_:")})

    def first_degree(node: str) -> str:
        mentions = []
        for line in lines:
            if node in line.split():
                relabelled = [
                    ("_:a" if t == node else "_:z") if t.startswith("_:") else t
                    for t in line.split(" ")
                ]
                mentions.append(" ".join(relabelled) + "\n")
        return hashlib.sha256("".join(sorted(mentions)).encode()).hexdigest()

    hashes = {node: first_degree(node) for node in blanks}
    assert len(set(hashes.values())) == len(blanks), "this simple labelling needs unique hashes"
    labels = {node: f"_:c14n{i}" for i, node in enumerate(sorted(blanks, key=hashes.get))}
    out = [" ".join(labels.get(token, token) for token in line.split(" ")) + "\n" for line in lines]
    return "".join(sorted(out))


def _independent_verify(document: dict, did_document: dict) -> bool:
    proof = document["proof"]
    method = next(
        m for m in did_document["verificationMethod"] if m["id"] == proof["verificationMethod"]
    )
    public = keys.base58btc_decode(method["publicKeyMultibase"][1:])[2:]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = document["@context"]
    data = (
        hashlib.sha256(_independent_canonical(options).encode()).digest()
        + hashlib.sha256(_independent_canonical(unsecured).encode()).digest()
    )
    try:
        VerifyKey(public).verify(data, keys.base58btc_decode(proof["proofValue"][1:]))
    except BadSignatureError:
        return False
    return True


def test_issued_credential_verifies_with_an_independent_implementation_and_not_after_tampering(
    app, client
):
    with app.app_context():
        _enrollment, token = _certified()
    response = client.get(f"/my/{token}/credential.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    credential = response.get_json()
    did_document = client.get("/.well-known/did.json").get_json()

    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"] == did_document["id"] == "did:web:certificados.test"
    assert credential["credentialSubject"]["name"] == ACCENTED_NAME
    achievement = credential["credentialSubject"]["achievement"]
    assert "Future of Fish" in achievement["criteria"]["narrative"]
    assert "Inocuidad y calidad" in achievement["criteria"]["narrative"]
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert _independent_verify(credential, did_document)

    # One byte of the name changed: both verifiers refuse it.
    tampered = json.loads(json.dumps(credential))
    tampered["credentialSubject"]["name"] = ACCENTED_NAME.replace("Ñ", "N", 1)
    assert not _independent_verify(tampered, did_document)
    with app.app_context():
        resolver = _resolver(did_document)
        assert proofs.verify_proof(credential, resolver.by_method).kid
        with pytest.raises(proofs.ProofError, match="changed"):
            proofs.verify_proof(tampered, resolver.by_method)


def _resolver(did_document: dict):
    from courses.certificates.verification import Resolver

    return Resolver.from_did_document(did_document)


def test_vc_jwt_is_a_compact_eddsa_jws_whose_kid_names_a_key_of_the_did_document(app, client):
    with app.app_context():
        _enrollment, token = _certified()
    jwt = client.get(f"/my/{token}/credential.jwt").data.decode()
    did_document = client.get("/.well-known/did.json").get_json()
    header_b64, payload_b64, signature_b64 = jwt.split(".")
    header = json.loads(keys.b64url_decode(header_b64))
    payload = json.loads(keys.b64url_decode(payload_b64))
    assert header["alg"] == "EdDSA"
    method = next(m for m in did_document["verificationMethod"] if m["id"] == header["kid"])
    assert method["type"] == "JsonWebKey" and method["publicKeyJwk"]["crv"] == "Ed25519"
    # PyNaCl, not the signer's library, checks the signature.
    VerifyKey(keys.b64url_decode(method["publicKeyJwk"]["x"])).verify(
        f"{header_b64}.{payload_b64}".encode(), keys.b64url_decode(signature_b64)
    )
    assert payload["iss"] == did_document["id"]
    assert payload["vc"]["credentialSubject"]["name"] == ACCENTED_NAME
    assert "proof" not in payload["vc"]
    forged = payload_b64[:-2] + ("A" if payload_b64[-2] != "A" else "B") + payload_b64[-1]
    with pytest.raises(BadSignatureError):
        VerifyKey(keys.b64url_decode(method["publicKeyJwk"]["x"])).verify(
            f"{header_b64}.{forged}".encode(), keys.b64url_decode(signature_b64)
        )


def _status_bit(client, credential: dict) -> bool:
    entry = credential["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry"
    path = entry["statusListCredential"].removeprefix("http://certificados.test")
    response = client.get(path)
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    status_list = response.get_json()
    assert _independent_verify(status_list, client.get("/.well-known/did.json").get_json())
    return credentials.status_bit(status_list, int(entry["statusListIndex"]))


def test_revoking_or_superseding_sets_the_status_bit_and_verify_page_agrees(app, client):
    with app.app_context():
        enrollment, token = _certified()
        other, other_token = enroll(enrollment.edition, name="Rosa Pérez", email="rosa@example.org")
        for module in enrollment.edition.course.modules:
            mark_module(other, module, source="coordinator", now=NOW)
        db.session.commit()
        first_id, other_id = enrollment.id, other.id
    first = client.get(f"/my/{token}/credential.json").get_json()
    second = client.get(f"/my/{other_token}/credential.json").get_json()
    assert not _status_bit(client, first) and not _status_bit(client, second)

    with app.app_context():
        revoke_certificate(current_certificate(db.session.get(Enrollment, first_id)), "x", NOW)
        db.session.commit()
    assert _status_bit(client, first)
    assert not _status_bit(client, second)
    assert (
        "revocado" in client.get(first["id"].removeprefix("http://certificados.test")).data.decode()
    )
    assert client.get(f"/my/{token}/credential.json").status_code == 410

    with app.app_context():
        reissue_certificate(db.session.get(Enrollment, other_id), "Rosa Pérez Soto", NOW)
        db.session.commit()
        assert db.session.query(Certificate).filter(Certificate.is_valid).count() == 1
    assert _status_bit(client, second)  # superseded
    third = client.get(f"/my/{other_token}/credential.json").get_json()
    assert third["credentialSubject"]["name"] == "Rosa Pérez Soto"
    assert not _status_bit(client, third)


def test_rotation_keeps_old_credentials_verifiable_and_signs_new_ones_with_the_new_key(
    app, client, runner, tmp_path
):
    # The key ring is read on use, so a file set now is the one every request signs with.
    key_file = tmp_path / "signing-keys.json"
    app.config["SIGNING_KEYS_FILE"] = str(key_file)
    result = runner.invoke(args=["certificates", "keys", "create"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert runner.invoke(args=["certificates", "keys", "create"]).exit_code == 1
    with app.app_context():
        _enrollment, token = _certified()
    old = client.get(f"/my/{token}/credential.json").get_json()

    result = runner.invoke(args=["certificates", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    ring = json.loads(key_file.read_text())["keys"]
    assert len(ring) == 2 and "private" not in ring[0] and ring[1]["private"]
    listing = runner.invoke(args=["certificates", "keys", "list"]).output
    assert ring[0]["id"] in listing and ring[1]["private"] not in listing

    did_document = client.get("/.well-known/did.json").get_json()
    assert _independent_verify(old, did_document)  # the old key is still published
    new = client.get(f"/my/{token}/credential.json").get_json()
    assert old["proof"]["verificationMethod"].endswith(ring[0]["id"])
    assert new["proof"]["verificationMethod"].endswith(ring[1]["id"])
    assert _independent_verify(new, did_document)


def test_did_web_writes_the_port_as_percent_3a():
    assert credentials.issuer_did("http://127.0.0.1:5000") == "did:web:127.0.0.1%3A5000"
    assert credentials.issuer_did("https://cert.example.org/") == "did:web:cert.example.org"


def test_eddsa_rdfc_2022_matches_the_w3c_test_vectors():
    extra = VECTORS["extraContexts"]
    document, options = VECTORS["unsecuredDocument"], VECTORS["proofOptions"]
    config = {**options, "@context": document["@context"]}
    assert proofs.canonical_nquads(config, extra) == VECTORS["canonicalProofOptions"]
    assert proofs.hash_data(document, options, extra).hex() == VECTORS["combinedHashHex"]

    secret = keys.base58btc_decode(VECTORS["keyPair"]["secretKeyMultibase"][1:])
    assert secret[:2] == keys.ED25519_PRIV_PREFIX
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = keys.public_key_from_multibase(VECTORS["keyPair"]["publicKeyMultibase"])
    signer = keys.SigningKey(
        keys.PublicKey("vector", public, ""), Ed25519PrivateKey.from_private_bytes(secret[2:])
    )
    signed = proofs.add_proof(
        document, signer, options["verificationMethod"], options["created"], extra
    )
    assert signed["proof"]["proofValue"] == VECTORS["proofValue"]
    found = proofs.verify_proof(signed, lambda _method: signer.public, extra)
    assert found.raw == public


def test_the_loader_fetches_nothing_it_does_not_have():
    with pytest.raises(jsonld.JsonLdError, match="nothing is fetched"):
        proofs.document_loader()("https://example.org/unknown-context")
    document = {"@context": "https://example.org/unknown-context", "name": "x"}
    with pytest.raises(proofs.ProofError):
        proofs.canonical_nquads(document)


#: The 1EdTech JSON schema file itself (ob_v3p0_achievementcredential_schema.json) is not shipped
#: by any package of the registries this project installs from, so it is not vendored; this is
#: the part of it our credentials rely on, written from the Open Badges 3.0 specification's data
#: model (https://www.imsglobal.org/spec/ob/v3p0/#achievementcredential): required properties
#: and the types they must contain.
def _contains(kind: str) -> dict:
    return {"oneOf": [{"const": kind}, {"type": "array", "contains": {"const": kind}}]}


OB3_REQUIRED = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["@context", "id", "type", "issuer", "validFrom", "credentialSubject"],
    "properties": {
        "@context": {
            "type": "array",
            "prefixItems": [
                {"const": "https://www.w3.org/ns/credentials/v2"},
                {
                    "pattern": "^https://purl.imsglobal.org/spec/ob/v3p0/context-3\\.0\\.[0-9]+\\.json$"
                },
            ],
        },
        "id": {"type": "string", "format": "uri"},
        "type": {
            "type": "array",
            "allOf": [
                {"contains": {"const": "VerifiableCredential"}},
                {"contains": {"const": "OpenBadgeCredential"}},
            ],
        },
        "issuer": {
            "type": "object",
            "required": ["id", "type"],
            "properties": {"type": _contains("Profile")},
        },
        "validFrom": {"type": "string", "format": "date-time"},
        "credentialSubject": {
            "type": "object",
            "required": ["type", "achievement"],
            "properties": {
                "type": _contains("AchievementSubject"),
                "identifier": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type", "identityHash", "identityType", "hashed"],
                    },
                },
                "achievement": {
                    "type": "object",
                    "required": ["id", "type", "criteria", "description", "name"],
                    "properties": {
                        "type": _contains("Achievement"),
                        "criteria": {
                            "type": "object",
                            "anyOf": [{"required": ["id"]}, {"required": ["narrative"]}],
                        },
                    },
                },
            },
        },
        "credentialStatus": {
            "type": "object",
            "required": ["id", "type", "statusPurpose", "statusListIndex", "statusListCredential"],
        },
        "proof": {
            "type": "object",
            "required": ["type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"],
        },
    },
}


def test_credential_has_what_open_badges_3_requires(app, client):
    jsonschema = pytest.importorskip("jsonschema")
    with app.app_context():
        _enrollment, token = _certified(locale="en")
    credential = client.get(f"/my/{token}/credential.json").get_json()
    jsonschema.Draft202012Validator(
        OB3_REQUIRED, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(credential)
    assert credential["credentialSubject"]["achievement"]["inLanguage"] == "en"
    broken = {**credential, "credentialSubject": {"type": ["AchievementSubject"]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, OB3_REQUIRED)
