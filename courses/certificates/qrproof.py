"""The QR code's offline proof: PUBLIC_BASE_URL/verify/<code>#<payload>.<signature>.

Everything before "#" is the address every phone camera opens (a contract); the fragment is
never sent to the server, so the holder's name in it does not reach any log. The fragment is

    base64url(payload) "." base64url(Ed25519 signature over the ASCII of base64url(payload))

where the payload is the UTF-8 JSON array, written without spaces,

    ["C1", code, holder's name, course, edition, issue date (YYYY-MM-DD), key id]

"C1" names this format. The key id is a key of the issuer's DID document (the fragment of its
verification method: did:web:…#<key id>). docs/verifying.md is the description for others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from courses.certificates import codes, keys

FORMAT = "C1"


class QrProofError(ValueError):
    """A QR text whose proof is missing or does not hold; the message says why."""


@dataclass(frozen=True)
class QrFacts:
    """What a valid QR proof vouches for."""

    code: str
    name: str
    course: str
    edition: str
    issued: str
    kid: str


def qr_text(verify_url: str, facts: QrFacts, key: keys.SigningKey) -> str:
    """The full QR text: the verification address and, after "#", the signed proof."""
    payload = json.dumps(
        [FORMAT, facts.code, facts.name, facts.course, facts.edition, facts.issued, key.public.kid],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    encoded = keys.b64url(payload.encode("utf-8"))
    return f"{verify_url}#{encoded}.{keys.b64url(key.sign(encoded.encode('ascii')))}"


def verify_qr(text: str, find_key) -> QrFacts:
    """The facts of a QR text whose signature holds under `find_key(kid)`; QrProofError if not."""
    address, _hash, fragment = text.strip().partition("#")
    path = urlsplit(address).path
    if "/verify/" not in path:
        raise QrProofError("the text is not a certificate's verification address")
    url_code = path.rsplit("/verify/", 1)[1].strip("/")
    if not fragment:
        raise QrProofError("this QR code carries no signed proof (only the address)")
    encoded, _dot, signature = fragment.partition(".")
    try:
        fields = json.loads(keys.b64url_decode(encoded).decode("utf-8"))
        raw_signature = keys.b64url_decode(signature)
    except (ValueError, UnicodeDecodeError):
        raise QrProofError("the proof is damaged: it is not base64url JSON") from None
    if not (isinstance(fields, list) and len(fields) == 7 and fields[0] == FORMAT):
        raise QrProofError(f"the proof is not in format {FORMAT}")
    if not all(isinstance(field, str) for field in fields):
        raise QrProofError("the proof is damaged: every field is text")
    facts = QrFacts(*fields[1:])
    key = find_key(facts.kid)
    if key is None:
        raise QrProofError(f"the key {facts.kid} is not one of the issuer's published keys")
    if not key.verify(raw_signature, encoded.encode("ascii")):
        raise QrProofError("the signature does not match: the QR text was changed")
    try:
        if codes.normalize(url_code) != facts.code:
            raise QrProofError("the code in the address is not the code in the signed proof")
    except codes.CodeError:
        raise QrProofError("the code in the address is not a certificate code") from None
    return facts
