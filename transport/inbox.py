"""The receiver's persisted replay guard: the `transport.store.ReplayStore` on SQLite.

`protocol.envelope.verify_frame(is_replay=...)` only *asks* whether a sender's envelope id or
nonce was seen; it never records. The receiver records an envelope after it verified and was
acted on, in the same transaction as the action (`once`), so that a crash cannot leave an
action without its record (a resend would be acted on twice) or a record without its action
(a resend would be answered "duplicate" and the message lost). `once` also checks again
inside that transaction, so two copies of one envelope arriving at once are acted on once.

What is kept: sender node id, envelope id, nonce and times. Never payload.

How long:

* nonces until the envelope's `expires` plus the allowed clock skew: after that the
  envelope is refused as expired anyway (`protocol.envelope`, module doc);
* envelope ids a further `FreshnessPolicy.max_lifetime` (7 days by default): an outbox whose
  envelope expired undelivered re-seals it with the *same id* and a new lifetime
  (`protocol.envelope.FreshnessPolicy`), and if the first copy did arrive (only its answer
  was lost) the second must still be recognised as a duplicate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from protocol.envelope import DEFAULT_POLICY, Envelope, FreshnessPolicy
from transport.schema import ensure_component
from transport.store import Database

T = TypeVar("T")

SCHEMA_VERSION = 1

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS transport_seen (
        sender TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('id', 'nonce')),
        value TEXT NOT NULL,
        keep_until INTEGER NOT NULL,
        PRIMARY KEY (sender, kind, value)
    ) STRICT, WITHOUT ROWID
    """,
    """
    CREATE INDEX IF NOT EXISTS transport_seen_expiry ON transport_seen (keep_until)
    """,
)

_SEEN = ("SELECT 1 FROM transport_seen WHERE sender = ? AND "
         "((kind = 'id' AND value = ?) OR (kind = 'nonce' AND value = ?)) LIMIT 1")


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the replay guard's table if missing (inside the caller's write transaction)."""
    ensure_component(conn, "inbox", _SCHEMA, SCHEMA_VERSION)


class ReplayGuard:
    """Seen (sender, envelope id) and (sender, nonce) pairs, in the process's database.

    An instance is a `protocol.envelope.ReplayCheck` (pass it as `is_replay`) and its `once`
    a `protocol.responder.ActOnce`.
    """

    def __init__(self, db: Database, *, policy: FreshnessPolicy = DEFAULT_POLICY) -> None:
        self._db = db
        self._policy = policy

    def __call__(self, sender: str, envelope_id: str, nonce: str, /) -> bool:
        """True if this sender's envelope id or nonce was recorded. Only reads."""
        return self._db.read().execute(_SEEN, (sender, envelope_id, nonce)).fetchone() is not None

    def once(self, envelope: Envelope, act: Callable[[sqlite3.Connection], T], /) -> T | None:
        """In one write transaction: unless `envelope` is recorded already (then None), run
        `act` with the transaction's connection, record the envelope, and commit. If `act`
        raises, nothing of it remains and the envelope is not recorded."""
        with self._db.write() as conn:
            seen = (envelope.sender, envelope.envelope_id, envelope.nonce)
            if conn.execute(_SEEN, seen).fetchone() is not None:
                return None
            result = act(conn)
            self._record_in(conn, envelope)
        return result

    def _record_in(self, conn: sqlite3.Connection, envelope: Envelope) -> None:
        nonce_until = envelope.expires + self._policy.max_clock_skew
        id_until = nonce_until + self._policy.max_lifetime
        conn.executemany(
            "INSERT INTO transport_seen (sender, kind, value, keep_until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (sender, kind, value) DO UPDATE "
            "SET keep_until = max(keep_until, excluded.keep_until)",
            [
                (envelope.sender, "id", envelope.envelope_id, id_until),
                (envelope.sender, "nonce", envelope.nonce, nonce_until),
            ],
        )

    def purge(self, now: int) -> int:
        """Forget what can no longer be replayed. Returns the number of rows removed."""
        with self._db.write() as conn:
            return conn.execute(
                "DELETE FROM transport_seen WHERE keep_until <= ?", (now,)
            ).rowcount
