"""Creating, finding and revoking API tokens. Functions only flush; the caller commits.

A token is 32 random bytes (URL-safe text) after a recognisable prefix, so a secret scanner or
a person reading a log can tell what leaked. Only its SHA-256 is stored: the token is as random
as a key, so a slow password hash would add nothing but time to every API request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from courses.api.models import ApiToken
from courses.coordination.models import Coordinator
from courses.extensions import db

PREFIX = "cap_"
NAME_MAX = 80
#: A coordinator with more live tokens than this is doing something wrong.
MAX_TOKENS = 50


class TokenError(ValueError):
    """A token cannot be created as asked; the message says why."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    coordinator: Coordinator, name: str, *, expires_at: datetime | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for `coordinator`: (the stored row, the token to show once)."""
    clean = " ".join((name or "").split())
    if not clean:
        raise TokenError(_("Ponle un nombre al token (para qué sistema es)."))
    if len(clean) > NAME_MAX:
        raise TokenError(_("El nombre puede tener como máximo %(n)s caracteres.", n=NAME_MAX))
    if expires_at is not None and expires_at <= now:
        raise TokenError(_("La fecha de vencimiento debe ser futura."))
    if len(live_tokens(coordinator, now)) >= MAX_TOKENS:
        raise TokenError(_("Tienes demasiados tokens activos: revoca los que no uses."))
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        coordinator_id=coordinator.id,
        name=clean,
        token_hash=hash_token(token),
        hint=token[:10],
        created_at=now,
        expires_at=expires_at,
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def tokens_of(coordinator: Coordinator) -> list[ApiToken]:
    """All of a coordinator's tokens, newest first (revoked and expired ones included)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.coordinator_id == coordinator.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def live_tokens(coordinator: Coordinator, now: datetime) -> list[ApiToken]:
    return [token for token in tokens_of(coordinator) if token.is_usable(now)]


def find_usable(token: str, now: datetime) -> ApiToken | None:
    """The token's row if it exists, is neither revoked nor expired, and its owner is active."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    return row if row is not None and row.is_usable(now) else None


def revoke_token(row: ApiToken, now: datetime) -> bool:
    """Revoke a token (idempotent); True if it was live until now."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    db.session.flush()
    return True
