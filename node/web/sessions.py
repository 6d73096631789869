"""In-memory sessions. Nothing here is ever written to disk.

`SessionStore` is what the reporter's sessions (`node.web.reporter.sessions`) and the staff
office's (`node.web.staff.sessions`) have in common: sessions end when idle, the oldest
makes room when the store is full, and a restart ends them all -- by design: keys in
memory, never at rest.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

Monotonic = Callable[[], float]


class Session(Protocol):
    id: str
    last_seen: float


S = TypeVar("S", bound=Session)


class SessionStore(Generic[S]):
    def __init__(self, idle_seconds: float, max_sessions: int,
                 on_end: Callable[[S], None] | None = None,
                 monotonic: Monotonic = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._on_end: Callable[[S], None] | None = on_end
        self._now = monotonic
        self._items: OrderedDict[str, S] = OrderedDict()

    def get(self, sid: str | None) -> S | None:
        if not sid:
            return None
        self.expire()
        s = self._items.get(sid)
        if s is None:
            return None
        s.last_seen = self._now()
        self._items.move_to_end(sid)
        return s

    def _add(self, session: S) -> S:
        self.expire()
        while len(self._items) >= self.max_sessions:
            _, oldest = self._items.popitem(last=False)
            self._end(oldest)
        self._items[session.id] = session
        return session

    def end(self, sid: str | None) -> None:
        s = self._items.pop(sid, None) if sid else None
        if s is not None:
            self._end(s)

    def expire(self) -> None:
        limit = self._now() - self.idle_seconds
        while self._items:
            sid, s = next(iter(self._items.items()))
            if s.last_seen >= limit:
                break
            del self._items[sid]
            self._end(s)

    def end_all(self) -> None:
        while self._items:
            _, s = self._items.popitem()
            self._end(s)

    def _end(self, s: S) -> None:
        if self._on_end is not None:
            self._on_end(s)

    def __len__(self) -> int:
        return len(self._items)
