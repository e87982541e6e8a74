"""Response headers that protect every page: no framing, no third-party code, no sniffing."""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

#: No inline scripts or styles anywhere; YouTube's privacy-enhanced player is the only frame.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "frame-src https://www.youtube-nocookie.com",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    https = app.config["PUBLIC_BASE_URL"].startswith("https://")
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind nginx/caddy the client's address and scheme arrive in X-Forwarded-* headers;
        # trust exactly that many hops so rate limits see clients, not the proxy.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)

    protective = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ]
    if https:
        protective.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    @app.after_request
    def security_headers(response: Response) -> Response:
        # Each one unless the view set its own (setdefault's rule, in one pass over the few
        # headers a response has: four setdefaults were a twentieth of a page's CPU).
        present = {key.lower() for key, _value in response.headers.items()}
        response.headers.extend(
            [(key, value) for key, value in protective if key.lower() not in present]
        )
        return response
