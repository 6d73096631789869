"""In-memory sessions. Nothing here is ever written to disk.

A reporter's session holds a report being written (its data key and answers) or a report
opened with a receipt; a staff session holds the person's unlocked keys. Both end when
idle, and a restart ends them all -- by design: keys in memory, never at rest.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from crypto.keys import DataKey
from node.accounts import UnlockedStaff
from node.intake.attachments import Allowance, StagedFile
from node.intake.service import Receipt, ReporterAccess

Monotonic = Callable[[], float]


@dataclass
class Draft:
    """A report being written. Attachments are already encrypted on disk with `data_key`."""

    data_key: DataKey = field(repr=False)
    allowance: Allowance
    answers: dict[str, Any] = field(default_factory=dict)
    files: list[StagedFile] = field(default_factory=list)


@dataclass
class AfterSubmit:
    """What the confirmation page shows once, then forgets."""

    receipt: Receipt | None
    needs: list[str]
    region: str | None


@dataclass
class ReporterSession:
    id: str
    csrf: str
    last_seen: float
    draft: Draft | None = None
    access: ReporterAccess | None = None
    after_submit: AfterSubmit | None = None
    flash: str | None = None


@dataclass
class StaffSession:
    id: str
    csrf: str
    last_seen: float
    staff: UnlockedStaff
    flash: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)  # e.g. the in-memory search index


S = TypeVar("S", ReporterSession, StaffSession)


class _Store(Generic[S]):
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


class ReporterSessions(_Store[ReporterSession]):
    def new(self) -> ReporterSession:
        return self._add(ReporterSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                                         self._now()))


class StaffSessions(_Store[StaffSession]):
    def new(self, staff: UnlockedStaff) -> StaffSession:
        return self._add(StaffSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                                      self._now(), staff))

    def of_staff(self, staff_id: str) -> list[StaffSession]:
        """Every open session of one person (to apply a change of roles or keys at once)."""
        self.expire()
        return [s for s in self._items.values() if s.staff.member.id == staff_id]
