"""Admin sessions, in memory only, and the brake on guessing the admin passphrase.

A session is a random id in an HttpOnly, SameSite=Strict cookie (Secure unless the config
says the pages are served over plain-HTTP loopback) and a CSRF token that every form posts
back. Sessions end when idle and all end on restart: nothing about them is on disk.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]

COOKIE = "backup_observatory_admin"


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


class LoginThrottle:
    """One passphrase check at a time, a pause after each failure, and a pause of
    `lock_seconds` once `max_failures` failed within `window` seconds.

    Counted for the whole observatory, not per address: we keep no addresses. A locked
    admin page still leaves the CLI (`backup-observatory requests|approve|…`) to the admin.
    """

    def __init__(self, max_failures: int = 10, window: float = 900, lock_seconds: float = 900,
                 failure_pause: float = 1.0, monotonic: Monotonic = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lock_seconds = lock_seconds
        self.failure_pause = failure_pause
        self._now = monotonic
        self._failures: deque[float] = deque()
        self._locked_until = 0.0
        self.lock = asyncio.Lock()

    def locked(self) -> bool:
        return self._now() < self._locked_until

    def succeeded(self) -> None:
        self._failures.clear()

    async def failed(self) -> None:
        now = self._now()
        self._failures.append(now)
        while self._failures and self._failures[0] < now - self.window:
            self._failures.popleft()
        if len(self._failures) >= self.max_failures:
            self._locked_until = now + self.lock_seconds
            self._failures.clear()
        await asyncio.sleep(self.failure_pause)
