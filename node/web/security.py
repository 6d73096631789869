"""Security headers and cross-site request checks, per route set.

Public pages follow SecureDrop's source interface and the GOV.UK and Chayn guidance on
trauma-informed design: nothing cached, no referrer, no external resource of any kind, no
framing, not indexed.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from node import errors
from runtime import headers as runtime_headers
from runtime.headers import (
    UNSAFE_METHODS,
    base_headers,
    is_cross_site,
    strip_identifying_headers,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["UNSAFE_METHODS", "base_headers", "check_csrf", "content_security_policy",
           "headers_middleware", "same_origin_only", "strip_identifying_headers"]


def content_security_policy(style_hash: str) -> str:
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",  # the files step's resumable uploads (issue 20)
        f"style-src '{style_hash}'",
        "img-src 'self' data:",
        # spoken prompts, and a reporter's own recording played back from memory (issue 20)
        "media-src 'self' blob:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ])


def headers_middleware(csp: str) -> Middleware:
    # The microphone for this site's own pages only: a reporter may record their account
    # (issue 20); the browser still asks them first. Never for a frame or another origin.
    return runtime_headers.headers_middleware(base_headers(csp) | {
        "Permissions-Policy": "camera=(), microphone=(self), geolocation=(), "
                              "interest-cohort=()"})


@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state-changing requests sent by another site's page (CSRF defence in depth;
    forms also carry a per-session token)."""
    if is_cross_site(request):
        raise errors.SessionExpired()
    return await handler(request)


def check_csrf(expected: str, given: object) -> None:
    """`SessionExpired` unless `given` is the session's token. Compared as UTF-8 bytes:
    `hmac.compare_digest` raises TypeError on a str that is not ASCII, and a token is
    whatever the client sent (issue 13: a non-ASCII token gave a 500)."""
    if not isinstance(given, str) or not hmac.compare_digest(
            expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")):
        raise errors.SessionExpired()
