"""The outbox's queue in the node's SQLite database: the `transport.store.OutboxStore`.

One row per envelope id: where the frame goes (recipient node id, peer id, multiaddrs,
protocol id), the frame itself while it is pending (erased once delivered or given up), and
what happened so far (attempts, the last error as a short code, when the next attempt is
due). No payload is kept anywhere but in the frame, so the rows can be shown to staff as they
are: what is queued, for whom, since when, and why it has not gone yet.

Writes go through the process's one writer (`Database.write()`); reads through this
thread's reader. Everything blocks: callers run it in a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

from transport.schema import ensure_component
from transport.store import Database, OutboxEntry, Queued, Status

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

_COLUMNS = (
    "envelope_id, recipient_node_id, message_type, peer_id, addrs, protocol_id, status, "
    "attempts, enqueued_at, next_attempt_at, last_attempt_at, last_error, expires_at, "
    "finished_at"
)


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox's table if missing (inside the caller's write transaction)."""
    ensure_component(conn, "outbox", _SCHEMA, SCHEMA_VERSION)


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


class OutboxQueue:
    """The outbox's rows, written through the process's one writer."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- queueing ------------------------------------------------------------------------

    def enqueue(self, item: Queued, now: float) -> bool:
        with self._db.write() as conn:
            return self.enqueue_in(conn, item, now)

    def enqueue_in(self, conn: sqlite3.Connection, item: Queued, now: float) -> bool:
        """`enqueue` inside the caller's write transaction, so that what the caller records
        about the message commits with it."""
        if not conn.in_transaction:
            raise RuntimeError("enqueue_in needs an open write transaction")
        row = conn.execute(
            "SELECT status FROM transport_outbox WHERE envelope_id = ?", (item.envelope_id,)
        ).fetchone()
        if row is not None and row[0] != "failed":
            return False
        conn.execute(
            "INSERT OR REPLACE INTO transport_outbox (envelope_id, recipient_node_id, "
            "message_type, peer_id, addrs, protocol_id, frame, status, attempts, "
            "enqueued_at, next_attempt_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
            (item.envelope_id, item.recipient_node_id, item.message_type, item.peer_id,
             json.dumps(list(item.addrs)), item.protocol_id, item.frame, now, now,
             item.expires_at),
        )
        return True

    def retry_now(self, now: float) -> int:
        with self._db.write() as conn:
            return conn.execute(
                "UPDATE transport_outbox SET next_attempt_at = ? WHERE status = 'pending'",
                (now,)).rowcount

    def prune(self, before: float) -> int:
        with self._db.write() as conn:
            return conn.execute(
                "DELETE FROM transport_outbox WHERE status != 'pending' AND finished_at < ?",
                (before,)).rowcount

    # -- delivering ----------------------------------------------------------------------

    def claim_due(self, now: float, limit: int,
                  skip: Collection[str]) -> list[tuple[OutboxEntry, bytes]]:
        if limit <= 0:
            return []
        rows = self._db.read().execute(
            f"SELECT {_COLUMNS}, frame FROM transport_outbox "  # noqa: S608 - constant
            "WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at LIMIT ?",
            (now, limit + len(skip)),
        ).fetchall()
        due = [(_entry(row[:-1]), bytes(row[-1])) for row in rows]
        return [item for item in due if item[0].envelope_id not in skip][:limit]

    def next_due_at(self, skip: Collection[str]) -> float | None:
        rows = self._db.read().execute(
            "SELECT envelope_id, next_attempt_at FROM transport_outbox "
            "WHERE status = 'pending' ORDER BY next_attempt_at LIMIT ?",
            (len(skip) + 1,),
        ).fetchall()
        for envelope_id, next_attempt_at in rows:
            if envelope_id not in skip:
                return float(next_attempt_at)
        return None

    def mark_delivered(self, envelope_id: str, now: float) -> None:
        self._finish(envelope_id, "delivered", None, now, attempted=True)

    def record_refusal(self, envelope_id: str, code: str, now: float, *,
                       attempted: bool) -> None:
        self._finish(envelope_id, "failed", code, now, attempted=attempted)

    def record_failure(self, envelope_id: str, code: str, now: float,
                       next_attempt_at: float) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE transport_outbox SET attempts = attempts + 1, last_attempt_at = ?, "
                "last_error = ?, next_attempt_at = ? "
                "WHERE envelope_id = ? AND status = 'pending'",
                (now, code, next_attempt_at, envelope_id))

    def settle_in(self, conn: sqlite3.Connection, envelope_id: str, now: float, *,
                  refused: str | None = None) -> None:
        """Mark an answered item delivered (or, with `refused`, given up with that code)
        inside the caller's write transaction: the one that stores what the answer says, so
        that both commit together. The outbox's own mark that follows is then a no-op."""
        if not conn.in_transaction:
            raise RuntimeError("settle_in needs an open write transaction")
        status: Status = "delivered" if refused is None else "failed"
        self._finish_in(conn, envelope_id, status, refused, now, attempted=True)

    def _finish(self, envelope_id: str, status: Status, code: str | None, now: float, *,
                attempted: bool) -> None:
        with self._db.write() as conn:
            self._finish_in(conn, envelope_id, status, code, now, attempted=attempted)

    @staticmethod
    def give_up_in(conn: sqlite3.Connection, envelope_id: str, code: str,
                   now: float) -> None:
        """Give up a pending item and erase its frame, inside the caller's write
        transaction: what it carries must not leave any more (a revoked share)."""
        OutboxQueue._finish_in(conn, envelope_id, "failed", code, now, attempted=False)

    @staticmethod
    def _finish_in(conn: sqlite3.Connection, envelope_id: str, status: Status,
                   code: str | None, now: float, *, attempted: bool) -> None:
        conn.execute(
            "UPDATE transport_outbox SET status = ?, frame = NULL, last_error = ?, "
            "finished_at = ?, attempts = attempts + ?, "
            "last_attempt_at = COALESCE(?, last_attempt_at) "
            "WHERE envelope_id = ? AND status = 'pending'",
            (status, code, now, int(attempted), now if attempted else None, envelope_id))

    # -- reading -------------------------------------------------------------------------

    def entry(self, envelope_id: str) -> OutboxEntry | None:
        row = self._db.read().execute(
            f"SELECT {_COLUMNS} FROM transport_outbox WHERE envelope_id = ?",  # noqa: S608 - constant
            (envelope_id,),
        ).fetchone()
        return None if row is None else _entry(row)

    def pending(self) -> list[OutboxEntry]:
        """What is still queued, next attempt first: for the staff page."""
        return self._list("pending", "next_attempt_at")

    def failed(self) -> list[OutboxEntry]:
        """What the outbox gave up on (expired, refused for good), latest first."""
        return self._list("failed", "finished_at DESC")

    def _list(self, status: Status, order: str) -> list[OutboxEntry]:
        rows = self._db.read().execute(
            f"SELECT {_COLUMNS} FROM transport_outbox WHERE status = ? ORDER BY {order}",  # noqa: S608 - constant
            (status,),
        ).fetchall()
        return [_entry(row) for row in rows]
