"""A persistent outbox: signed frames that must arrive, retried until they do (issue 5).

Links in conflict zones fail for hours; a node's message to the observatory or a peer waits
here, in the sender's own SQLite database, and survives restarts. Each item is one signed
envelope frame addressed to (recipient node id, peer id, multiaddrs, protocol id).

Exactly-once, end to end:

* `enqueue` is idempotent by envelope id: queueing the same envelope twice queues it once.
* An item is marked delivered only after a response frame came back *and* the caller's
  `on_response` accepted it. A crash in between means a resend, which the receiver
  recognises by envelope id (`protocol.exchanges.DuplicateReceived`) and answers as a
  duplicate instead of acting again; that answer counts as delivered. So the receiver acts
  once; `on_response` itself may see a request's answer more than once after a crash.
* Retries back off exponentially with "equal jitter" (Brooker, "Exponential Backoff And
  Jitter", AWS Architecture Blog, 2015): half of the capped delay is fixed, half random, so
  senders that lost the same link do not all come back in the same second, and a delay
  never shrinks to nothing. Defaults: 1 s doubling to a 5 min cap.
* An envelope past its `expires` is refused by every receiver (`protocol.envelope`), so the
  outbox stops there and marks it failed with `expired`; re-sealing it with the same envelope
  id and calling `enqueue` again queues it anew.

What is stored: the frame (until delivered or given up, then erased) and metadata. The last
error is a short code (`transport.errors`), never payload, so `list_pending()` can be shown
to staff as it is: what is queued, for whom, since when, and why it has not gone yet.

The outbox uses the connection it is given from the asyncio thread only; give it its own
connection to the database (WAL lets it write between the application's writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from protocol.envelope import Envelope
from protocol.errors import ProtocolError
from transport.errors import CODE_PATTERN, TransportError, Undeliverable
from transport.identity import parse_addrs, parse_peer_id
from transport.schema import ensure_component
from transport.transaction import write_transaction

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS transport_outbox (
        envelope_id TEXT PRIMARY KEY,
        recipient_node_id TEXT NOT NULL,
        message_type TEXT NOT NULL,
        peer_id TEXT NOT NULL,
        addrs TEXT NOT NULL,                 -- JSON array of multiaddr strings
        protocol_id TEXT NOT NULL,
        frame BLOB,                          -- NULL once delivered or given up
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        enqueued_at REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        last_attempt_at REAL,
        last_error TEXT,                     -- a short code, never payload
        expires_at INTEGER NOT NULL,
        finished_at REAL,
        CHECK ((status = 'pending') = (frame IS NOT NULL))
    ) STRICT
    """,
    """
    CREATE INDEX IF NOT EXISTS transport_outbox_due
        ON transport_outbox (status, next_attempt_at)
    """,
)

Status = Literal["pending", "delivered", "failed"]

_COLUMNS = (
    "envelope_id, recipient_node_id, message_type, peer_id, addrs, protocol_id, status, "
    "attempts, enqueued_at, next_attempt_at, last_attempt_at, last_error, expires_at, "
    "finished_at"
)


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox tables if missing (idempotent; in its own transaction)."""
    ensure_component(conn, "outbox", _SCHEMA, SCHEMA_VERSION)


@dataclass(frozen=True)
class BackoffPolicy:
    """Delays between attempts, in seconds."""

    initial: float = 1.0
    maximum: float = 300.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum and self.multiplier >= 1):
            raise ValueError("backoff needs 0 < initial <= maximum and multiplier >= 1")

    def delay(self, failures: int, rand: float) -> float:
        """The wait after the `failures`-th failed attempt; `rand` is uniform in [0, 1)."""
        if failures < 1:
            return 0.0
        # The exponent is capped so that a long outage cannot overflow a float.
        capped = min(self.maximum, self.initial * self.multiplier ** min(failures - 1, 64))
        return capped / 2 + rand * capped / 2


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


class Requester(Protocol):
    """What the outbox sends through: `transport.host.Libp2pHost.request`."""

    async def request(
        self, peer_id: str, addrs: Sequence[str], protocol_id: str, frame: bytes, timeout: float
    ) -> bytes: ...


# Called with each response frame before the item is marked delivered. Return to accept;
# raise `Undeliverable(code)` to give up (e.g. the receiver refused the message for good);
# raise anything else (e.g. a `protocol.errors.EnvelopeRejected`) to count a failed attempt.
ResponseCallback = Callable[[OutboxEntry, bytes], Awaitable[None]]


def _entry(row: Sequence[Any]) -> OutboxEntry:
    (envelope_id, recipient, message_type, peer_id, addrs, protocol_id, status, attempts,
     enqueued_at, next_attempt_at, last_attempt_at, last_error, expires_at, finished_at) = row
    return OutboxEntry(
        envelope_id=envelope_id,
        recipient_node_id=recipient,
        message_type=message_type,
        peer_id=peer_id,
        addrs=tuple(json.loads(addrs)),
        protocol_id=protocol_id,
        status=status,
        attempts=attempts,
        enqueued_at=enqueued_at,
        next_attempt_at=next_attempt_at,
        last_attempt_at=last_attempt_at,
        last_error=last_error,
        expires_at=expires_at,
        finished_at=finished_at,
    )


def _failure_code(exc: BaseException) -> str:
    """A storable code for a failed attempt: the error's own code if it has a safe one."""
    for attribute in ("code", "reason"):
        value = getattr(exc, attribute, None)
        if isinstance(value, str) and CODE_PATTERN.match(value):
            return value
    return "response_rejected"


class Outbox:
    """Queue signed frames in SQLite and deliver them through a `Requester`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        requester: Requester,
        *,
        on_response: ResponseCallback | None = None,
        backoff: BackoffPolicy | None = None,
        request_timeout: float = 30.0,
        max_in_flight: int = 8,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._conn = conn
        self._requester = requester
        self._on_response = on_response
        self._backoff = backoff or BackoffPolicy()
        self._request_timeout = request_timeout
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._rand = rand
        self._in_flight: set[str] = set()
        self._wakeup = asyncio.Event()

    # -- queueing and reading ------------------------------------------------------------

    def enqueue(
        self, envelope: Envelope, *, peer_id: str, addrs: Sequence[str], protocol_id: str
    ) -> bool:
        """Queue `envelope` for delivery; False if this envelope id is already queued or
        delivered. An item that failed (expired, undeliverable) is queued anew."""
        parse_peer_id(peer_id)
        parse_addrs(peer_id, addrs)
        if not protocol_id.startswith("/") or len(protocol_id) > 128:
            raise ValueError("a protocol id is a short path such as /backup/outbox/1")
        try:
            frame = envelope.to_frame()
        except ProtocolError as exc:
            raise TransportError(str(exc)) from None
        now = self._clock()
        with write_transaction(self._conn) as conn:
            row = conn.execute(
                "SELECT status FROM transport_outbox WHERE envelope_id = ?",
                (envelope.envelope_id,),
            ).fetchone()
            if row is not None and row[0] != "failed":
                return False
            conn.execute(
                "INSERT OR REPLACE INTO transport_outbox (envelope_id, recipient_node_id, "
                "message_type, peer_id, addrs, protocol_id, frame, status, attempts, "
                "enqueued_at, next_attempt_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                (
                    envelope.envelope_id,
                    envelope.recipient,
                    f"{envelope.type} v{envelope.version}",
                    peer_id,
                    json.dumps(list(addrs)),
                    protocol_id,
                    frame,
                    now,
                    now,
                    envelope.expires,
                ),
            )
        log.info("outbox: queued %s for %s", envelope.describe(), envelope.recipient)
        self._wakeup.set()
        return True

    def entry(self, envelope_id: str) -> OutboxEntry | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM transport_outbox WHERE envelope_id = ?",  # noqa: S608 - constant
            (envelope_id,),
        ).fetchone()
        return None if row is None else _entry(row)

    def list_pending(self) -> list[OutboxEntry]:
        """What is still queued, next attempt first: for the staff page."""
        return self._list("pending", "next_attempt_at")

    def list_failed(self) -> list[OutboxEntry]:
        """What the outbox gave up on (expired, refused for good), latest first."""
        return self._list("failed", "finished_at DESC")

    def _list(self, status: Status, order: str) -> list[OutboxEntry]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM transport_outbox WHERE status = ? ORDER BY {order}",  # noqa: S608 - constant
            (status,),
        ).fetchall()
        return [_entry(row) for row in rows]

    def purge_finished(self, before: float) -> int:
        """Forget delivered and failed items finished before `before`. Returns how many.

        After this, enqueueing one of their envelopes again sends it again; the receiver
        still deduplicates it while the envelope has not expired.
        """
        with write_transaction(self._conn) as conn:
            cursor = conn.execute(
                "DELETE FROM transport_outbox WHERE status != 'pending' AND finished_at < ?",
                (before,),
            )
            return cursor.rowcount

    # -- delivering ----------------------------------------------------------------------

    def wake(self) -> None:
        """Look for due items now (e.g. a peer announced it is back)."""
        self._wakeup.set()

    def retry_now(self, envelope_id: str | None = None) -> int:
        """Make one pending item (or all) due now, e.g. from a staff "retry" button."""
        with write_transaction(self._conn) as conn:
            if envelope_id is None:
                cursor = conn.execute(
                    "UPDATE transport_outbox SET next_attempt_at = ? WHERE status = 'pending'",
                    (self._clock(),),
                )
            else:
                cursor = conn.execute(
                    "UPDATE transport_outbox SET next_attempt_at = ? "
                    "WHERE status = 'pending' AND envelope_id = ?",
                    (self._clock(), envelope_id),
                )
            changed = cursor.rowcount
        self._wakeup.set()
        return changed

    async def deliver_due(self) -> int:
        """Attempt every item due now, concurrently up to `max_in_flight`; wait for all.

        Returns the number of attempts made. `run()` is this in a loop.
        """
        attempted = 0
        while True:
            due = self._due(self._max_in_flight)
            if not due:
                return attempted
            for entry, _ in due:
                self._in_flight.add(entry.envelope_id)
            await asyncio.gather(*(self._attempt(entry, frame) for entry, frame in due))
            attempted += len(due)

    async def run(self) -> None:
        """Deliver forever: each due item as soon as it is due. Cancel to stop."""
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                self._wakeup.clear()
                for entry, frame in self._due(self._max_in_flight - len(self._in_flight)):
                    self._in_flight.add(entry.envelope_id)
                    task = asyncio.create_task(self._attempt(entry, frame))
                    tasks.add(task)
                    task.add_done_callback(self._task_done(tasks))
                delay = self._seconds_to_next_due()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=delay)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _task_done(self, tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            self._wakeup.set()  # a slot is free, and the item may be due again

        return done

    def _due(self, limit: int) -> list[tuple[OutboxEntry, bytes]]:
        if limit <= 0:
            return []
        rows = self._conn.execute(
            f"SELECT {_COLUMNS}, frame FROM transport_outbox "  # noqa: S608 - constant
            "WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at LIMIT ?",
            (self._clock(), limit + len(self._in_flight)),
        ).fetchall()
        due = [(_entry(row[:-1]), bytes(row[-1])) for row in rows]
        return [item for item in due if item[0].envelope_id not in self._in_flight][:limit]

    def _seconds_to_next_due(self) -> float | None:
        """Until the earliest pending item not in flight is due; None if there is none."""
        rows = self._conn.execute(
            "SELECT envelope_id, next_attempt_at FROM transport_outbox "
            "WHERE status = 'pending' ORDER BY next_attempt_at LIMIT ?",
            (len(self._in_flight) + 1,),
        ).fetchall()
        for envelope_id, next_attempt_at in rows:
            if envelope_id not in self._in_flight:
                # Re-check at least every minute: the wall clock may have been corrected.
                return min(max(0.0, float(next_attempt_at) - self._clock()), 60.0)
        return None

    async def _attempt(self, entry: OutboxEntry, frame: bytes) -> None:
        try:
            await self._attempt_once(entry, frame)
        finally:
            self._in_flight.discard(entry.envelope_id)

    async def _attempt_once(self, entry: OutboxEntry, frame: bytes) -> None:
        now = self._clock()
        if now >= entry.expires_at:
            self._finish(entry, "failed", "expired")
            return
        timeout = max(0.001, min(self._request_timeout, entry.expires_at - now))
        try:
            response = await self._requester.request(
                entry.peer_id, entry.addrs, entry.protocol_id, frame, timeout
            )
        except TransportError as exc:
            self._failed_attempt(entry, exc.code)
            return
        try:
            if self._on_response is not None:
                await self._on_response(entry, response)
        except Undeliverable as exc:
            self._finish(entry, "failed", exc.code, attempted=True)
            return
        except Exception as exc:  # noqa: BLE001 - the caller's verdict on the response
            self._failed_attempt(entry, _failure_code(exc))
            return
        self._finish(entry, "delivered", None, attempted=True)

    def _failed_attempt(self, entry: OutboxEntry, code: str) -> None:
        now = self._clock()
        attempts = entry.attempts + 1
        next_at = now + self._backoff.delay(attempts, self._rand())
        with write_transaction(self._conn) as conn:
            conn.execute(
                "UPDATE transport_outbox SET attempts = attempts + 1, last_attempt_at = ?, "
                "last_error = ?, next_attempt_at = ? "
                "WHERE envelope_id = ? AND status = 'pending'",
                (now, code, next_at, entry.envelope_id),
            )
        log.info(
            "outbox: %s to %s failed (%s), attempt %d, next in %.1fs",
            entry.envelope_id, entry.recipient_node_id, code, attempts, next_at - now,
        )

    def _finish(
        self, entry: OutboxEntry, status: Status, code: str | None, *, attempted: bool = False
    ) -> None:
        now = self._clock()
        with write_transaction(self._conn) as conn:
            conn.execute(
                "UPDATE transport_outbox SET status = ?, frame = NULL, last_error = ?, "
                "finished_at = ?, attempts = attempts + ?, "
                "last_attempt_at = COALESCE(?, last_attempt_at) "
                "WHERE envelope_id = ? AND status = 'pending'",
                (status, code, now, int(attempted), now if attempted else None,
                 entry.envelope_id),
            )
        log.info(
            "outbox: %s to %s %s%s", entry.envelope_id, entry.recipient_node_id, status,
            f" ({code})" if code else "",
        )
