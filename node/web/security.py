"""Security headers and cross-site request checks, per route set.

Public pages follow SecureDrop's source interface and the GOV.UK/Chayn guidance collected in
shared/notes/survivor-ux.md: nothing cached, no referrer, no external resource of any kind,
no framing, not indexed.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from node import errors

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def content_security_policy(style_hash: str) -> str:
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        f"style-src '{style_hash}'",
        "img-src 'self' data:",
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
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
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
    """on_response_prepare: no server banner, no validators that let a cache keep a copy."""
    for name in ("Server", "ETag", "Last-Modified"):
        response.headers.popall(name, None)


@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state-changing requests sent by another site's page (CSRF defence in depth;
    forms also carry a per-session token)."""
    if request.method in UNSAFE_METHODS:
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            raise errors.SessionExpired()
        origin = request.headers.get("Origin")
        if origin and origin != "null" and origin.split("://", 1)[-1] != request.host:
            raise errors.SessionExpired()
    return await handler(request)


def check_csrf(expected: str, given: object) -> None:
    if not isinstance(given, str) or not hmac.compare_digest(expected, given):
        raise errors.SessionExpired()
