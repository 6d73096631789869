"""The staff office's state in memory: sessions of signed-in people, and sign-ins and
enrolments waiting for a second factor. Nothing here is ever written to disk.

A staff session holds the person's unlocked keys. With a second factor on, the unlocked keys
wait in a pending sign-in for at most five minutes until the code is given; the browser
holds nothing but a random id for it.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from node import second_factor
from node.accounts import UnlockedStaff
from node.web.sessions import SessionStore

PENDING_SECONDS = 5 * 60
ENROL_SECONDS = 15 * 60
MAX_PENDING = 200


@dataclass
class StaffSession:
    id: str
    csrf: str
    last_seen: float
    staff: UnlockedStaff
    flash: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)  # e.g. the in-memory search index


class StaffSessions(SessionStore[StaffSession]):
    def new(self, staff: UnlockedStaff) -> StaffSession:
        return self._add(StaffSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                                      self._now(), staff))

    def of_staff(self, staff_id: str) -> list[StaffSession]:
        """Every open session of one person (to apply a change of roles or keys at once)."""
        self.expire()
        return [s for s in self._items.values() if s.staff.member.id == staff_id]


@dataclass
class PendingSignIn:
    id: str
    csrf: str
    started: float
    staff: UnlockedStaff = field(repr=False)
    totp_secret: str = field(repr=False)


class SecondFactorState:
    """Everything about second factors that lives only in memory: sign-ins waiting for a
    code and secrets being enrolled. (The last accepted time step per account is in the
    database, `second_factor.last_step`, so that it survives a restart.)"""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._pending: OrderedDict[str, PendingSignIn] = OrderedDict()
        self._enrolments: dict[str, tuple[str, float]] = {}

    def start(self, staff: UnlockedStaff, totp_secret: str) -> PendingSignIn:
        self._expire()
        while len(self._pending) >= MAX_PENDING:
            self._pending.popitem(last=False)
        pending = PendingSignIn(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                                self._now(), staff, totp_secret)
        self._pending[pending.id] = pending
        return pending

    def get(self, pid: str | None) -> PendingSignIn | None:
        self._expire()
        return self._pending.get(pid) if pid else None

    def end(self, pid: str) -> None:
        self._pending.pop(pid, None)

    def _expire(self) -> None:
        limit = self._now() - PENDING_SECONDS
        for pid in [p.id for p in self._pending.values() if p.started < limit]:
            del self._pending[pid]
        limit = self._now() - ENROL_SECONDS
        for sid in [s for s, (_, t) in self._enrolments.items() if t < limit]:
            del self._enrolments[sid]

    def begin_enrolment(self, session_id: str) -> str:
        secret = second_factor.new_totp_secret()
        self._enrolments[session_id] = (secret, self._now())
        return secret

    def enrolment(self, session_id: str) -> str | None:
        self._expire()
        found = self._enrolments.get(session_id)
        return found[0] if found else None

    def end_enrolment(self, session_id: str) -> None:
        self._enrolments.pop(session_id, None)

    def __len__(self) -> int:
        self._expire()
        return len(self._pending)
