"""In-memory sessions. Nothing here is ever written to disk.

`SessionStore` is what the reporter's sessions (`node.web.reporter.sessions`) and the staff
office's (`node.web.staff.sessions`) have in common: sessions end when idle, the oldest
session that may be ended (`_evictable`) makes room when the store is full (else `_full`
refuses the new one), and a restart ends them all -- by design: keys in memory, never at
rest.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
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
            victim = next((s for s in self._items.values() if self._evictable(s)), None)
            if victim is None:
                self._full()
                raise RuntimeError("_full must raise")
            del self._items[victim.id]
            self._end(victim)
        self._items[session.id] = session
        return session

    def _evictable(self, session: S) -> bool:
        """Whether `session` may end early to make room for a new one."""
        return True

    def _full(self) -> None:
        """Called when no session may make room: raise the error the new one gets."""
        raise RuntimeError("no session may make room")

    def _idle_limit(self, session: S) -> float:
        """Seconds of inactivity after which `session` ends (at most `idle_seconds`)."""
        return self.idle_seconds

    def end(self, sid: str | None) -> None:
        s = self._items.pop(sid, None) if sid else None
        if s is not None:
            self._end(s)

    def expire(self) -> None:
        now = self._now()
        gone = []
        for s in self._items.values():  # oldest first
            if s.last_seen >= now - self.shortest_idle:
                break
            if s.last_seen < now - self._idle_limit(s):
                gone.append(s)
        for s in gone:
            del self._items[s.id]
            self._end(s)

    @property
    def shortest_idle(self) -> float:
        return self.idle_seconds

    def end_all(self) -> None:
        while self._items:
            _, s = self._items.popitem()
            self._end(s)

    def _end(self, s: S) -> None:
        if self._on_end is not None:
            self._on_end(s)

    def __iter__(self) -> Iterator[S]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)
