"""What stands between the internet and the Argon2id work of signing in.

- `SignInThrottle`: failed attempts counted per (username, source), in memory, under a
  keyed hash whose key never leaves memory. A stranger who guesses at a coordinator's
  username slows only their own attempts from their own address; the coordinator, from
  theirs, is not held back at all. The username is counted as typed, whether or not an
  account has it, so unknown usernames are slowed exactly like real ones.
- `SignInGate`: at most a few sign-ins run Argon2id (about 0.5 s of CPU each) at once, and
  only a few more wait; beyond that an attempt is answered "busy, try again" at once, so
  a flood of sign-ins can neither take the node's CPU nor queue without bound.

Nothing here is written to disk or logged; a restart forgets it (the holding back is a
brake, not a record).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from node import errors
from node.accounts import failure_delay
from node.web.appkeys import SIGN_IN_GUARD

# A (username, source) whose last failure is older than this starts again from nothing.
FORGET_SECONDS = 3600
MAX_TRACKED = 50_000       # bounds memory under a flood of made-up usernames
SIGN_INS_AT_ONCE = 2       # Argon2id runs at once (the node has other work: intake, cases)
SIGN_INS_WAITING = 8       # more wait their turn; beyond that "busy"


@dataclass
class _Failures:
    count: int
    last: float
    next_allowed: float


class SignInThrottle:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[bytes, _Failures] = OrderedDict()

    def _tag(self, username: str, source: str) -> bytes:
        text = f"{username.strip().casefold()}\0{source}".encode()
        return hashlib.blake2b(text, key=self._key, digest_size=16).digest()

    def _get(self, tag: bytes) -> _Failures | None:
        found = self._seen.get(tag)
        if found is not None and self._now() - found.last > FORGET_SECONDS:
            del self._seen[tag]
            return None
        return found

    def held_back(self, username: str, source: str) -> float:
        """The delay to answer with if this attempt comes too soon after a failure (its
        passphrase is then not even checked), else 0."""
        found = self._get(self._tag(username, source))
        if found is None or self._now() >= found.next_allowed:
            return 0.0
        return max(failure_delay(found.count), 1.0)

    def failed(self, username: str, source: str) -> float:
        """Count a failure; the delay to hold this answer back by."""
        tag = self._tag(username, source)
        now = self._now()
        found = self._get(tag)
        count = (found.count if found else 0) + 1
        delay = failure_delay(count)
        self._seen[tag] = _Failures(count, now, now + delay)
        self._seen.move_to_end(tag)
        while len(self._seen) > MAX_TRACKED:
            self._seen.popitem(last=False)
        return delay

    def succeeded(self, username: str, source: str) -> None:
        self._seen.pop(self._tag(username, source), None)

    def failures(self, username: str, source: str) -> int:
        found = self._get(self._tag(username, source))
        return found.count if found else 0


class SignInGate:
    def __init__(self, at_once: int = SIGN_INS_AT_ONCE, waiting: int = SIGN_INS_WAITING
                 ) -> None:
        self._running = asyncio.Semaphore(at_once)
        self._admitted = 0
        self._limit = at_once + waiting

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the few places for Argon2id work; `errors.Busy` when all are taken
        and the queue is full."""
        if self._admitted >= self._limit:
            raise errors.Busy()
        self._admitted += 1
        try:
            async with self._running:
                yield
        finally:
            self._admitted -= 1


@dataclass
class SignInGuard:
    throttle: SignInThrottle
    gate: SignInGate


def new_guard(monotonic: Callable[[], float] = time.monotonic) -> SignInGuard:
    return SignInGuard(SignInThrottle(monotonic), SignInGate())


def sign_in_guard(request: web.Request) -> SignInGuard:
    return request.config_dict[SIGN_IN_GUARD]
