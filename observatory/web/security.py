"""Security headers and cross-site checks for every response of the observatory.

The same stance as a node's back office: nothing cached (``no-store``: an admin page on a
shared computer leaves no copy), no referrer, no framing, no external resource of any kind
(``default-src 'none'``; the one stylesheet is inline and allowed by its hash; there is no
script at all), forms post only to us.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Middleware

from observatory.web.routes import Handler
from runtime import headers as runtime_headers
from runtime.headers import UNSAFE_METHODS, is_cross_site, strip_identifying_headers

__all__ = ["UNSAFE_METHODS", "base_headers", "content_security_policy", "headers_middleware",
           "same_origin_only", "strip_identifying_headers", "tokens_match"]


def content_security_policy(style_hash: str) -> str:
    return "; ".join([
        "default-src 'none'",
        f"style-src '{style_hash}'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ])


def base_headers(csp: str) -> dict[str, str]:
    return runtime_headers.base_headers(csp)


def headers_middleware(csp: str) -> Middleware:
    return runtime_headers.headers_middleware(base_headers(csp))


@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state-changing requests sent by another site's page (defence in depth: every
    form also carries the session's CSRF token, and the cookie is SameSite=Strict)."""
    if is_cross_site(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    return await handler(request)


def tokens_match(expected: str, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())
