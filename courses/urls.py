"""Absolute addresses of the site's pages for what leaves it: mail, certificates, QR codes.

Built from the routes as `url_for` builds them, and outside a request too (the worker sends
mail with only an application context), under PUBLIC_BASE_URL, which may carry a path prefix.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app


def public_url(endpoint: str, **values: object) -> str:
    """The absolute address of `endpoint` with `values`, e.g. ("participants.home", token=…)."""
    return public_url_builder(endpoint)(**values)


def public_url_builder(endpoint: str) -> Callable[..., str]:
    """`public_url` of one endpoint for many values (a job's thousands of e-mails): the routes
    are bound and the base read once."""
    adapter = current_app.url_map.bind("")  # no host: only the path is built
    base = current_app.config["PUBLIC_BASE_URL"]
    return lambda **values: base + adapter.build(endpoint, values)
