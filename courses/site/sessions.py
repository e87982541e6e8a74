"""Flask's signed-cookie sessions, with the signing serializer built once per key set.

Flask builds a new serializer (and its signer) for every request, to open the session, and
again to save it: a few dozen microseconds a page. The serializer depends only on the secret
keys and the interface's fixed settings, so it is kept while the keys stay the same (a
changed SECRET_KEY or SECRET_KEY_FALLBACKS gets a new one). The cookies are the same bytes.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class KeptSerializerSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface that reuses its serializer while the keys are unchanged."""

    def __init__(self) -> None:
        self._kept: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, super().get_signing_serializer(app))
        return kept[1]


def init_app(app: Flask) -> None:
    app.session_interface = KeptSerializerSessionInterface()
