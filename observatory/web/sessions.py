"""Admin sessions, in memory only, and the brake on guessing the admin passphrase.

A session is a random id in an HttpOnly, SameSite=Strict cookie (Secure unless the config
says the pages are served over plain-HTTP loopback) and a CSRF token that every form posts
back. Sessions end when idle and all end on restart: nothing about them is on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]

COOKIE = "backup_observatory_admin"
# The sign-in form's CSRF token, before there is a session: the same random value in this
# cookie (SameSite=Strict, so never sent by another site's form) and in the form.
PRE_COOKIE = "backup_observatory_pre"


@dataclass
class AdminSession:
    id: str
    csrf: str
    last_seen: float
    flash: str | None = None


class AdminSessions:
    def __init__(self, idle_seconds: float, max_sessions: int = 20,
                 monotonic: Monotonic = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._now = monotonic
        self._items: OrderedDict[str, AdminSession] = OrderedDict()

    def start(self) -> AdminSession:
        self._expire()
        while len(self._items) >= self.max_sessions:  # the oldest gives way
            self._items.popitem(last=False)
        session = AdminSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                               self._now())
        self._items[session.id] = session
        return session

    def get(self, sid: str | None) -> AdminSession | None:
        self._expire()
        session = self._items.get(sid) if sid else None
        if session is not None:
            session.last_seen = self._now()
            self._items.move_to_end(session.id)
        return session

    def end(self, sid: str) -> None:
        self._items.pop(sid, None)

    def end_all(self) -> None:
        self._items.clear()

    def _expire(self) -> None:
        cutoff = self._now() - self.idle_seconds
        for sid in [sid for sid, s in self._items.items() if s.last_seen < cutoff]:
            del self._items[sid]


@dataclass
class _Client:
    failures: deque[float]
    locked_until: float = 0.0


class LoginThrottle:
    """The brake on guessing the admin passphrase, per client (issue 11: counted for the
    whole site, ten strangers' failures kept the admin out for everyone).

    Each client (its address, or behind a trusted proxy the address it forwards, kept only
    as a keyed hash under a key that lives in memory) gets a pause after each failure and,
    once `max_failures` failed within `window` seconds, is paused for `lock_seconds`. Only
    that client: the admin, from another address, signs in at once. Argon2id runs one check
    at a time (`lock`), with at most `max_waiting` waiting: beyond, "busy" at once. A locked
    page still leaves the CLI (`backup-observatory requests|approve|…`) to the admin.
    """

    MAX_CLIENTS = 10_000

    def __init__(self, max_failures: int = 10, window: float = 900, lock_seconds: float = 900,
                 failure_pause: float = 1.0, max_waiting: int = 8,
                 monotonic: Monotonic = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lock_seconds = lock_seconds
        self.failure_pause = failure_pause
        self.max_waiting = max_waiting
        self._now = monotonic
        self._key = secrets.token_bytes(32)
        self._clients: OrderedDict[bytes, _Client] = OrderedDict()
        self.lock = asyncio.Lock()
        self.waiting = 0

    def _tag(self, client: str) -> bytes:
        return hashlib.blake2b(client.encode(), key=self._key, digest_size=16).digest()

    def locked(self, client: str) -> bool:
        found = self._clients.get(self._tag(client))
        return found is not None and self._now() < found.locked_until

    def busy(self) -> bool:
        """As many sign-ins wait for the check as may."""
        return self.waiting >= self.max_waiting

    def succeeded(self, client: str) -> None:
        self._clients.pop(self._tag(client), None)

    async def failed(self, client: str) -> None:
        now = self._now()
        tag = self._tag(client)
        found = self._clients.pop(tag, None) or _Client(deque())
        self._clients[tag] = found
        while len(self._clients) > self.MAX_CLIENTS:
            self._clients.popitem(last=False)
        found.failures.append(now)
        while found.failures and found.failures[0] < now - self.window:
            found.failures.popleft()
        if len(found.failures) >= self.max_failures:
            found.locked_until = now + self.lock_seconds
            found.failures.clear()
        await asyncio.sleep(self.failure_pause)


def client_of(remote: str | None, forwarded_for: str | None,
              trusted_proxies: list[str]) -> str:
    """Who is signing in: the peer address, or behind a trusted proxy the rightmost
    X-Forwarded-For hop that is not itself a trusted proxy (those to its left can be
    forged by the client)."""
    address = remote or "unknown"
    if address not in trusted_proxies:
        return address
    for hop in reversed((forwarded_for or "").split(",")):
        hop = hop.strip()
        if hop and hop not in trusted_proxies:
            return hop
    return address
