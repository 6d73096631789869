"""What the transport keeps, as two small interfaces, and the database they are kept in.

* `OutboxStore`: the outbox's queue of signed frames (enqueue, claim what is due, mark
  delivered, record a failed attempt or a refusal, prune what is finished). Implemented on
  SQLite by `transport.queue.OutboxQueue`; delivered by `transport.outbox.Outbox`.
* `ReplayStore`: the receiver's replay guard (is this envelope known; act on it once and
  record it in the same transaction; forget what can no longer be replayed). Implemented on
  SQLite by `transport.inbox.ReplayGuard`; it is what `protocol.responder.Responder` is given
  as its `is_replay` and `once`.

Both write through the `Database` of the process that owns the file, never a connection of
their own: one writer per database per process (`runtime.sqlite.Database` serialises every
write in one ``BEGIN IMMEDIATE`` transaction at a time), so a federation write never waits
on ``busy_timeout`` behind the application's (a deletion's ``VACUUM``, say). Every method
blocks on SQLite (and fsyncs when it writes): call them from a worker thread, never on the
event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from protocol.envelope import Envelope

T = TypeVar("T")

Status = Literal["pending", "delivered", "failed"]


class Database(Protocol):
    """The process's one writer and its per-thread readers (`runtime.sqlite.Database`)."""

    def write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def read(self) -> sqlite3.Connection: ...


@dataclass(frozen=True)
class Queued:
    """A frame to queue, and where it goes."""

    envelope_id: str
    recipient_node_id: str
    message_type: str  # "<type> v<version>"
    peer_id: str
    addrs: tuple[str, ...]
    protocol_id: str
    frame: bytes
    expires_at: int


@dataclass(frozen=True)
class OutboxEntry:
    """One queued (or finished) item as the staff page shows it. No frame, no payload."""

    envelope_id: str
    recipient_node_id: str
    message_type: str
    peer_id: str
    addrs: tuple[str, ...]
    protocol_id: str
    status: Status
    attempts: int
    enqueued_at: float
    next_attempt_at: float
    last_attempt_at: float | None
    last_error: str | None
    expires_at: int
    finished_at: float | None


class OutboxStore(Protocol):
    def enqueue(self, item: Queued, now: float) -> bool:
        """Queue `item`; False if its envelope id is already queued or delivered (an item
        that failed is queued anew)."""

    def claim_due(self, now: float, limit: int,
                  skip: Collection[str]) -> list[tuple[OutboxEntry, bytes]]:
        """Up to `limit` pending items due at `now`, earliest first, with their frames;
        not those in `skip` (in flight)."""

    def next_due_at(self, skip: Collection[str]) -> float | None:
        """When the earliest pending item not in `skip` is due; None if there is none."""

    def mark_delivered(self, envelope_id: str, now: float) -> None: ...

    def record_failure(self, envelope_id: str, code: str, now: float,
                       next_attempt_at: float) -> None:
        """A failed attempt (transport error, unbelievable answer): try again then."""

    def record_refusal(self, envelope_id: str, code: str, now: float, *,
                       attempted: bool) -> None:
        """Give the item up for good (refused by the peer, or expired before it went)."""

    def retry_now(self, now: float) -> int:
        """Make every pending item due at `now`."""

    def prune(self, before: float) -> int:
        """Forget delivered and failed items finished before `before`."""

    def entry(self, envelope_id: str) -> OutboxEntry | None: ...

    def pending(self) -> list[OutboxEntry]: ...

    def failed(self) -> list[OutboxEntry]: ...


class ReplayStore(Protocol):
    def __call__(self, sender: str, envelope_id: str, nonce: str, /) -> bool:
        """True if this sender's envelope id or nonce was recorded (`ReplayCheck`)."""

    def once(self, envelope: Envelope, act: Callable[[sqlite3.Connection], T], /) -> T | None:
        """Act on `envelope` and record it in one transaction (`protocol.responder.ActOnce`)."""

    def purge(self, now: int) -> int:
        """Forget what can no longer be replayed; how many rows went."""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox's and the replay guard's tables if missing, inside the caller's
    write transaction (idempotent)."""
    from transport import inbox, queue

    inbox.ensure_schema(conn)
    queue.ensure_schema(conn)
