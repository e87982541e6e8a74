"""Rate limits, named once and applied by each feature's views with `@limiter.limit(...)`.

Many fishers share one address (a cooperative's connection, a carrier's NAT), so limits per
client address are generous; limits per e-mail address or account do the real work.
"""

from __future__ import annotations

from flask import request

from courses.registration.rules import clean_phone

#: Registration POSTs from one client address (a whole cooperative may sit behind it).
REGISTRATION_PER_CLIENT = "120 per minute;2000 per hour"
#: Registration attempts for one e-mail address.
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
#: Coordinator login attempts.
LOGIN_PER_CLIENT = "30 per 15 minutes"
LOGIN_PER_ACCOUNT = "10 per 15 minutes"


def form_email_key() -> str:
    """Rate-limit key: the e-mail address typed in the form, compared case-insensitively."""
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]


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


def only_posts() -> bool:
    """Exempt GETs: limits count submissions, not page views."""
    return request.method != "POST"
