"""Configuration: one class of defaults per way of running, chosen by COURSES_CONFIG.

The environment is read when the application is created (not at import), so a test or a
process manager can set variables first. Explicit overrides passed to `create_app` win over both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
DEV_SECRET = "dev-only-not-secret"

_FALSE = {"0", "false", "off", "no", ""}


def parse_bool(value: str) -> bool:
    """Read a boolean setting: "0", "false", "off", "no" and "" are false."""
    return value.strip().lower() not in _FALSE


class Config:
    """Defaults shared by every configuration."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    SECRET_KEY = DEV_SECRET
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'courses.sqlite3'}"
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"

    # A registration form is a few hundred bytes; anything over 64 KB is not one.
    MAX_CONTENT_LENGTH = 64 * 1024
    MAX_FORM_MEMORY_SIZE = 64 * 1024

    # Mail. With no MAIL_SERVER (outside production) mail goes to the mailbox at /dev/mailbox.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "Alianza del Pacífico <no-reply@capacitacion.local>"
    #: Seconds before a slow SMTP server is given up on; the message stays queued for later.
    MAIL_TIMEOUT = 5.0
    #: Messages per minute handed to the mail server by all workers together (0: no limit),
    #: to stay under a provider's throttle.
    MAIL_MAX_PER_MINUTE = 0
    #: Seconds between the worker's looks at the queue on SQLite (PostgreSQL wakes it at once).
    MAIL_POLL_SECONDS = 0.5
    #: Erase personal data this many days after registration, daily, in the worker (0: off).
    PRIVACY_PURGE_AFTER_DAYS = 0
    #: Whether /dev/mailbox exists. Never in production.
    MAILBOX_ENABLED = False

    BABEL_DEFAULT_LOCALE = "es"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("es", "en")

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    #: Shared Redis: keep this application's counters apart from anything else stored there.
    RATELIMIT_KEY_PREFIX = "courses"
    #: Redis down must not take registration down: count in memory until it is back.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    #: Requests per API token (Flask-Limiter syntax); empty: limits.API_PER_TOKEN.
    API_RATE_LIMIT = ""
    #: Webhook URLs may be http:// (development and tests only; production needs https://).
    WEBHOOK_ALLOW_HTTP = False
    #: Webhooks may reach loopback addresses (tests only: their receiver runs on 127.0.0.1).
    #: Private, link-local and other non-public addresses are refused everywhere.
    WEBHOOK_ALLOW_LOOPBACK = False
    #: Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0 = none).
    #: Behind one nginx or caddy set 1, or every client shares the proxy's address (rate limits).
    TRUSTED_PROXIES = 0

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # A fisher may leave the form open for hours on a slow line; the token is still tied to the
    # session, so no time limit is needed for protection.
    WTF_CSRF_TIME_LIMIT = None

    #: Compress responses (gzip, or brotli where only that is accepted). Turn off when a
    #: reverse proxy in front compresses (docs/deploy.md): twice would only cost CPU.
    COMPRESS_RESPONSES = True

    #: Bearer token that lets monitoring see /healthz details from elsewhere ("" = loopback only).
    HEALTHZ_TOKEN = ""

    #: Version of the privacy notice people consent to; change it whenever /privacy changes.
    PRIVACY_NOTICE_VERSION = "2023-06"
    #: Folder of bundled course files (TOML).
    CATALOG_DIR = str(BASE_DIR / "courses" / "catalog")

    #: The Ed25519 key ring that signs credentials and QR proofs (courses/certificates/keys.py):
    #: a file outside the database, mode 0600. SIGNING_KEYS (the same JSON) overrides it.
    SIGNING_KEYS_FILE = str(INSTANCE_DIR / "signing-keys.json")
    SIGNING_KEYS: str | None = None
    #: How people reach the certificate issuer (shown on /issuer); optional.
    ISSUER_CONTACT: str | None = None


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    WEBHOOK_ALLOW_HTTP = True
    MAILBOX_ENABLED = True


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    MAILBOX_ENABLED = True
    RATELIMIT_ENABLED = False
    PUBLIC_BASE_URL = "http://certificados.test"
    WEBHOOK_ALLOW_HTTP = True
    WEBHOOK_ALLOW_LOOPBACK = True
    SIGNING_KEYS_FILE = ""  # one throw-away key per application; tests of the file set a path


class ProductionConfig(Config):
    ENV_NAME = "production"
    SECRET_KEY = ""


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

#: Environment variables read, and how to parse each.
_ENVIRONMENT: dict[str, Any] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "PUBLIC_BASE_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": parse_bool,
    "MAIL_USE_SSL": parse_bool,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_DEFAULT_SENDER": str,
    "MAIL_TIMEOUT": float,
    "MAIL_MAX_PER_MINUTE": int,
    "MAIL_POLL_SECONDS": float,
    "PRIVACY_PURGE_AFTER_DAYS": int,
    "COMPRESS_RESPONSES": parse_bool,
    "RATELIMIT_ENABLED": parse_bool,
    "RATELIMIT_STORAGE_URI": str,
    "RATELIMIT_KEY_PREFIX": str,
    "TRUSTED_PROXIES": int,
    "API_RATE_LIMIT": str,
    "SIGNING_KEYS_FILE": str,
    "SIGNING_KEYS": str,
    "ISSUER_CONTACT": str,
}


def build_config(name: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
    """Return the settings for configuration `name` (default: COURSES_CONFIG or development)."""
    name = (name or os.environ.get("COURSES_CONFIG") or "development").strip().lower()
    if name not in CONFIGS:
        raise RuntimeError(f"COURSES_CONFIG={name!r} is not one of: {', '.join(CONFIGS)}")
    cls = CONFIGS[name]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    for var, parse in _ENVIRONMENT.items():
        raw = os.environ.get(var)
        if raw is None or (raw == "" and var != "SECRET_KEY"):
            continue
        if name == "testing" and var == "DATABASE_URL":
            continue  # tests never touch the real database; TEST_DATABASE_URL chooses theirs
        key = "SQLALCHEMY_DATABASE_URI" if var == "DATABASE_URL" else var
        settings[key] = parse(raw)
    if name == "testing" and os.environ.get("TEST_DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = os.environ["TEST_DATABASE_URL"]
    settings.update(overrides or {})
    if str(settings["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        # Drop pooled connections that died with a database restart, and give up connecting
        # after a few seconds, so an unreachable database is a quick 503 and not a hung worker.
        settings.setdefault(
            "SQLALCHEMY_ENGINE_OPTIONS",
            {"pool_pre_ping": True, "connect_args": {"connect_timeout": 5}},
        )

    settings["PUBLIC_BASE_URL"] = settings["PUBLIC_BASE_URL"].rstrip("/")
    secure = settings["PUBLIC_BASE_URL"].startswith("https://")
    settings.setdefault("SESSION_COOKIE_SECURE", secure)
    settings.setdefault("REMEMBER_COOKIE_SECURE", secure)
    settings.setdefault("PREFERRED_URL_SCHEME", "https" if secure else "http")
    if name == "production":
        settings["DEBUG"] = False
        settings["MAILBOX_ENABLED"] = False
        settings["WEBHOOK_ALLOW_HTTP"] = False
        settings["WEBHOOK_ALLOW_LOOPBACK"] = False
        key = settings.get("SECRET_KEY") or ""
        if key == DEV_SECRET or len(key) < 16:
            raise RuntimeError(
                "COURSES_CONFIG=production refuses to start without a real SECRET_KEY "
                "(at least 16 random characters)."
            )
    return settings
