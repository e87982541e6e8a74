"""The site's Ed25519 signing keys: made by a command, kept outside the database, never exported.

The key ring is a small JSON file (`SIGNING_KEYS_FILE`, by default `instance/signing-keys.json`,
written with permissions 0600) or, in production, the same JSON in the `SIGNING_KEYS`
environment variable. It holds every public key ever used, so credentials signed before a
rotation still verify, and the private half of the newest key only: a rotated-out private key
is deleted, never kept "just in case". Nothing here prints or serves a private key.

    {"keys": [{"id": "key-1a2b3c4d", "created": "2026-12-01T08:00:00Z",
               "public": "<base64url, 32 bytes>", "private": "<base64url, 32 bytes>"}]}
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from flask import current_app

#: Multicodec prefixes of the Multikey encodings (varint of 0xed and of 0x1300).
ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class KeyStoreError(Exception):
    """The key ring is missing, unreadable, or cannot be changed the way asked."""


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def base58btc(data: bytes) -> str:
    """Bitcoin's base58 alphabet; each leading zero byte becomes a "1"."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def base58btc_decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58:
            raise ValueError(f"not base58btc: {char!r}")
        number = number * 58 + _B58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


@dataclass(frozen=True)
class PublicKey:
    """One published verification key."""

    kid: str
    raw: bytes
    created: str

    @property
    def multibase(self) -> str:
        """The Multikey form: "z" + base58btc(0xed01 + key), as in did.json."""
        return "z" + base58btc(ED25519_PUB_PREFIX + self.raw)

    @property
    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(self.raw)}

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except Exception:  # InvalidSignature, or a malformed signature length
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """The current key: its public half and what signs."""

    public: PublicKey
    _private: Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


@dataclass(frozen=True)
class KeyRing:
    #: None when no key was ever created: nothing can be signed yet.
    current: SigningKey | None
    #: Every key ever used, oldest first (the current one last).
    public_keys: tuple[PublicKey, ...]

    def find(self, kid: str) -> PublicKey | None:
        return next((key for key in self.public_keys if key.kid == kid), None)


def key_id(raw_public: bytes) -> str:
    """A short, stable name for a public key (it travels in every QR code)."""
    return "key-" + hashlib.sha256(raw_public).hexdigest()[:8]


def public_key_from_multibase(value: str) -> bytes:
    """The 32 raw bytes of a "z6Mk…" Ed25519 Multikey."""
    if not value.startswith("z"):
        raise ValueError("a Multikey starts with z (base58btc)")
    decoded = base58btc_decode(value[1:])
    if not decoded.startswith(ED25519_PUB_PREFIX) or len(decoded) != 34:
        raise ValueError("not an Ed25519 Multikey")
    return decoded[2:]


def parse_ring(text: str) -> KeyRing:
    """Read the key ring's JSON; KeyStoreError saying what is wrong with it."""
    try:
        entries = json.loads(text)["keys"]
        public_keys, current = [], None
        for entry in entries:
            key = PublicKey(entry["id"], b64url_decode(entry["public"]), entry["created"])
            public_keys.append(key)
            if entry.get("private"):
                private = Ed25519PrivateKey.from_private_bytes(b64url_decode(entry["private"]))
                current = SigningKey(key, private)
    except (ValueError, KeyError, TypeError) as error:
        raise KeyStoreError(f"the signing key ring is not readable: {error}") from None
    return KeyRing(current, tuple(public_keys))


@lru_cache(maxsize=8)
def _read_file(path: str, _stamp: tuple[int, int]) -> KeyRing:
    # Keyed on (mtime, size): a rotation by the command is seen by every running process.
    return parse_ring(Path(path).read_text(encoding="utf-8"))


def keyring(config: dict | None = None) -> KeyRing:
    """The key ring the application signs with (environment, else file, else empty)."""
    config = current_app.config if config is None else config
    if config.get("SIGNING_KEYS"):
        return parse_ring(config["SIGNING_KEYS"])
    path = config.get("SIGNING_KEYS_FILE")
    if not path:
        return _ephemeral_ring()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return KeyRing(None, ())
    return _read_file(str(path), (stat.st_mtime_ns, stat.st_size))


def _ephemeral_ring() -> KeyRing:
    """Tests run without a file: one throw-away key per application object."""
    ring = current_app.extensions.get("signing_keys")
    if ring is None:
        ring = parse_ring(json.dumps({"keys": [_new_entry(datetime.now(UTC))]}))
        current_app.extensions["signing_keys"] = ring
    return ring


def _new_entry(now: datetime) -> dict[str, str]:
    private = Ed25519PrivateKey.generate()
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return {
        "id": key_id(raw_public),
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "public": b64url(raw_public),
        "private": b64url(raw_private),
    }


def create_key_file(path: Path, now: datetime) -> PublicKey:
    """Write a new key ring with one key; refuses to overwrite an existing one."""
    if path.exists():
        raise KeyStoreError(f"{path} exists already: use `certificates keys rotate`")
    _write(path, {"keys": [_new_entry(now)]})
    return parse_ring(path.read_text(encoding="utf-8")).public_keys[-1]


def rotate_key_file(path: Path, now: datetime) -> PublicKey:
    """Add a new current key; older keys keep only their public half (still published)."""
    if not path.exists():
        raise KeyStoreError(f"{path} does not exist: use `certificates keys create`")
    entries = json.loads(path.read_text(encoding="utf-8"))["keys"]
    for entry in entries:
        entry.pop("private", None)
    entries.append(_new_entry(now))
    _write(path, {"keys": entries})
    return parse_ring(path.read_text(encoding="utf-8")).public_keys[-1]


def _write(path: Path, ring: dict) -> None:
    """Write atomically, readable by the owner only, so a crash never leaves half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-keys-")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(ring, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
