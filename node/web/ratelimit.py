"""Rate limiting without storing addresses.

Buckets are keyed by a keyed hash (BLAKE2b) of the client address under a random key that
lives only in memory and is replaced every hour, dropping every bucket with it. Nothing
about who made a request is ever written or logged.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from node.web.appkeys import LIMITER, node

ROTATE_SECONDS = 3600


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._key = secrets.token_bytes(32)
        self._rotated = monotonic()
        self._buckets: dict[tuple[str, bytes], _Bucket] = {}

    def _tag(self, address: str) -> bytes:
        return hashlib.blake2b(address.encode(), key=self._key, digest_size=16).digest()

    def allow(self, action: str, address: str | None, per_minute: int) -> bool:
        """Take one token from this address's bucket for `action` (burst = per_minute)."""
        now = self._now()
        if now - self._rotated > ROTATE_SECONDS:
            self._key = secrets.token_bytes(32)
            self._rotated = now
            self._buckets.clear()
        key = (action, self._tag(address or "unknown"))
        rate = per_minute / 60.0
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = _Bucket(float(per_minute), now)
            if len(self._buckets) > 100_000:  # bound memory under a flood of addresses
                self._buckets.clear()
                self._buckets[key] = b
        b.tokens = min(float(per_minute), b.tokens + (now - b.updated) * rate)
        b.updated = now
        if b.tokens < 1.0:
            return False
        b.tokens -= 1.0
        return True

    def refund(self, action: str, address: str | None, per_minute: int) -> None:
        """Give back the token `allow` took: the request turned out to be refused for its
        own content (a 4xx), which must not cost the others who share the bucket."""
        b = self._buckets.get((action, self._tag(address or "unknown")))
        if b is not None:
            b.tokens = min(float(per_minute), b.tokens + 1.0)


def client_bucket(remote: str | None, forwarded_for: str | None,
                  trusted_proxies: list[str]) -> tuple[str, bool]:
    """(the address to limit, whether it is shared by unknown clients). Behind a trusted
    proxy the client is the rightmost X-Forwarded-For hop that is not itself a trusted proxy
    (the hops to its left can be forged by the client); a trusted proxy that names no client
    (Tor) is one shared bucket."""
    address = remote or "unknown"
    if address not in trusted_proxies:
        return address, False
    for hop in reversed((forwarded_for or "").split(",")):
        hop = hop.strip()
        if hop and hop not in trusted_proxies:
            return hop, False
    return "shared:" + address, True


def _bucket_of(request: web.Request, per_minute: int, session: str | None
               ) -> tuple[str, int]:
    limits = node(request).config.rate_limits
    address, shared = client_bucket(request.remote, request.headers.get("X-Forwarded-For"),
                                    limits.trusted_proxies)
    if not shared:
        return address, per_minute
    if session is not None:
        # Behind an onion service everyone shares one address: a reporter session (or a
        # signed form token) is the only thing that tells one Tor client from another, so
        # one client's traffic cannot spend everyone's bucket.
        return "session:" + session, per_minute
    return address, per_minute * limits.shared_address_factor


def rate_ok(request: web.Request, action: str, per_minute: int, *,
            session: str | None = None) -> bool:
    """Take one token from this client's bucket for `action` (see `client_bucket` for who
    the client is behind a proxy). `session` names the reporter session (or form token)
    that counts instead of the address when the address is shared."""
    address, limit = _bucket_of(request, per_minute, session)
    return request.config_dict[LIMITER].allow(action, address, limit)


def refund(request: web.Request, action: str, per_minute: int, *,
           session: str | None = None) -> None:
    """Give back the token `rate_ok` took for a request refused as malformed (a 4xx other
    than a wrong receipt), so malformed requests cannot drain a shared bucket."""
    address, limit = _bucket_of(request, per_minute, session)
    request.config_dict[LIMITER].refund(action, address, limit)
