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

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
    return {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store, max-age=0",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "X-Robots-Tag": "noindex, nofollow",
    }


def headers_middleware(csp: str) -> Middleware:
    headers = base_headers(csp)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(headers)
            raise
        response.headers.update(headers)
        return response

    return middleware


async def strip_identifying_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: no server banner, no validators a cache could keep a copy by."""
    for name in ("Server", "ETag", "Last-Modified"):
        response.headers.popall(name, None)


@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state-changing requests sent by another site's page (defence in depth: every
    form also carries the session's CSRF token, and the cookie is SameSite=Strict)."""
    if request.method in UNSAFE_METHODS:
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            raise web.HTTPForbidden(text="cross-site request refused")
        origin = request.headers.get("Origin")
        if origin and origin != "null" and origin.split("://", 1)[-1] != request.host:
            raise web.HTTPForbidden(text="cross-site request refused")
    return await handler(request)


def tokens_match(expected: str, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())
