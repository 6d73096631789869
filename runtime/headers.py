"""The security headers of every response, and cross-site request detection.

As SecureDrop's source interface and the guidance in docs/notes/reporter-pages.md: nothing
cached, no referrer, no external resource of any kind (the caller's CSP starts from
``default-src 'none'``), no framing, not indexed, no server banner, no cache validators.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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


ROUTE_OWN = frozenset({"Content-Security-Policy"})


def headers_middleware(headers: Mapping[str, str]) -> Middleware:
    """Put `headers` on every response, errors included. A route's own Content-Security-Policy
    stays: routes set one only to be stricter (the sandbox on a downloaded attachment)."""
    fixed = dict(headers)

    def apply(target: MutableMapping[str, str]) -> None:
        for name, value in fixed.items():
            if name in ROUTE_OWN and name in target:
                continue
            target[name] = value

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            apply(exc.headers)
            raise
        apply(response.headers)
        return response

    return middleware


async def strip_identifying_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: no server banner, no validators a cache could keep a copy by."""
    for name in ("Server", "ETag", "Last-Modified"):
        response.headers.popall(name, None)


def is_cross_site(request: web.Request) -> bool:
    """A state-changing request sent by another site's page (CSRF defence in depth; forms
    also carry a per-session token and cookies are SameSite=Strict)."""
    if request.method not in UNSAFE_METHODS:
        return False
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    return origin.split("://", 1)[-1] != request.host
