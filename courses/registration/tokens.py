"""Personal links: `/my/<token>`, unguessable, and never stored in a form that opens them.

The token is an HMAC of a random per-enrollment salt under SECRET_KEY. The database keeps the
salt and the token's SHA-256, not the token: a copy of the database alone opens no link. Because
the token can be derived again from the salt, a "lost link" e-mail sends the same link people may
already have saved in their chats, instead of silently breaking it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app

from courses.urls import public_url

#: 16 random bytes of salt; the token itself carries 160 bits of HMAC output.
SALT_BYTES = 16
TOKEN_BYTES = 20


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def token_for(salt: str) -> str:
    """The personal-link token for an enrollment's salt (URL-safe, 27 characters)."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"personal-link:" + salt.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    """What is stored and looked up: the SHA-256 of the token, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def personal_link(token: str) -> str:
    """The absolute personal link sent by e-mail."""
    return public_url("participants.home", token=token)
