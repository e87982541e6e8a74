"""Rate limits, named once and applied by each feature's views with `@limiter.limit(...)`.

Many fishers share one address (a cooperative's connection, a carrier's NAT), so limits per
client address are generous; limits per e-mail address or account do the real work. Limits on
anything that mails someone count by inbox (`normalise_address`), not by the spelling typed.

Counters live in RATELIMIT_STORAGE_URI. In memory (the default) each process counts on its
own: with several workers every limit is multiplied by their number. gunicorn.conf.py warns at
start-up in that case; production with more than one worker should use Redis (docs/deploy.md).
"""

from __future__ import annotations

from flask import Response, request
from flask_limiter.util import get_remote_address

from courses.addresses import normalise_address
from courses.registration.rules import clean_phone

#: Registration POSTs from one client address (a whole cooperative may sit behind it).
REGISTRATION_PER_CLIENT = "120 per minute;2000 per hour"
#: Registration attempts for one inbox (each may mail that person).
REGISTRATION_PER_EMAIL = "10 per hour"
#: Lost-link requests.
#: Per client generous (a carrier's NAT puts a whole town behind one address); per e-mail tight
#: (what stops anyone from flooding one inbox).
LOST_LINK_PER_CLIENT = "100 per hour"
LOST_LINK_PER_EMAIL = "3 per hour"
#: Certificate verification (public; QR scans). Generous: an export agency may check many.
VERIFY_PER_CLIENT = "60 per minute"
#: API requests per token (a partner's sync pages through an edition in a burst), and per
#: client address whatever the token (made-up tokens must not each get a fresh allowance).
API_PER_TOKEN = "120 per minute;3000 per hour"
API_PER_CLIENT = "600 per minute"
#: Failed coordinator logins (a successful login never counts). Per client address, and per
#: account from one client: someone elsewhere who knows a coordinator's address can use up
#: only their own attempts, never lock the owner out.
LOGIN_PER_CLIENT = "30 per 15 minutes"
LOGIN_PER_ACCOUNT = "10 per 15 minutes"


def form_email_key() -> str:
    """Rate-limit key: the inbox of the e-mail address typed in the form."""
    return "email:" + normalise_address((request.form.get("email") or "")[:400])


def login_account_key() -> str:
    """Rate-limit key: the account typed in the login form, together with the client address."""
    return (
        f"login:{normalise_address((request.form.get('email') or '')[:400])}|{get_remote_address()}"
    )


def failed_login(response: Response) -> bool:
    """Count a login attempt only when it failed (401: wrong address or password)."""
    return response.status_code == 401


def form_contact_key() -> str:
    """Rate-limit key: the e-mail typed, else the phone number (E.164, however it was typed)."""
    if (request.form.get("email") or "").strip():
        return form_email_key()
    raw = (request.form.get("phone") or "")[:40]
    country = (request.form.get("country") or "").strip().upper()[:2] or None
    try:
        return "phone:" + clean_phone(raw, country, "es")
    except ValueError:
        return "phone:" + "".join(char for char in raw if char.isdigit())
