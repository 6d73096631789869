"""Signed form tokens: the CSRF token of a reporter's form before there is a session.

A cookieless visit to a report step or to the receipt page creates nothing on the node: the
page carries a token signed (HMAC-SHA256) under a key that lives only in memory. The first
form the person submits with a valid token starts their session. Behind an onion service,
where every reporter shares one address, the token is also what rate limits count, so one
Tor client cannot spend the others' allowance of new sessions.

A token lives at most `TOKEN_SECONDS` (one hour, the idle time of a reporter's session): the
key is replaced every hour and the previous one kept for one more hour only to check tokens
issued just before the change, whose age is checked on its own. A restart voids them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

TOKEN_SECONDS = 3600
_STAMP = 8
_NONCE = 12
_MAC = 16


class FormTokens:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._key = secrets.token_bytes(32)
        self._previous: bytes | None = None
        self._rotated = monotonic()

    def _rotate(self) -> None:
        now = self._now()
        if now - self._rotated >= TOKEN_SECONDS:
            self._previous, self._key = self._key, secrets.token_bytes(32)
            self._rotated = now

    @staticmethod
    def _mac(key: bytes, body: bytes) -> bytes:
        return hmac.new(key, body, hashlib.sha256).digest()[:_MAC]

    def issue(self) -> str:
        self._rotate()
        stamp = int(self._now() * 1000).to_bytes(_STAMP, "big", signed=True)
        body = stamp + secrets.token_bytes(_NONCE)
        return base64.urlsafe_b64encode(body + self._mac(self._key, body)).decode().rstrip("=")

    def valid(self, token: object) -> bool:
        """Whether `token` was issued by this process less than `TOKEN_SECONDS` ago."""
        if not isinstance(token, str) or len(token) > 64:
            return False
        self._rotate()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:
            return False
        if len(raw) != _STAMP + _NONCE + _MAC:
            return False
        body, mac = raw[:-_MAC], raw[-_MAC:]
        keys = [k for k in (self._key, self._previous) if k is not None]
        if not any(hmac.compare_digest(mac, self._mac(k, body)) for k in keys):
            return False
        issued = int.from_bytes(body[:_STAMP], "big", signed=True) / 1000
        return 0 <= self._now() - issued < TOKEN_SECONDS
