"""The observatory as a witness of its members' evidence logs (issue 5, "Witnessed
checkpoints").

The decision is `protocol.witnessing.witness` (shared with the nodes' peer witnesses); this
module gives it the stored state and stores what it decided, in the caller's write
transaction, so that a cosignature is only answered once what it commits us to is on disk:

* `Cosign`: the witness state of the origin moves to the new checkpoint, and the note with
  our cosignature line is kept per size (`GET /api/v1/checkpoints/{node_id}` serves the
  latest);
* `Fork`: both signed notes are kept in a fork alarm, shown to the admin until
  acknowledged; the witness state does not move (a witness keeps its view of the log);
* `Refuse`: nothing is stored.

After a member's restore (issue 21): `witnessed_in` answers what we last cosigned of its
log, and `succession_in` records its successor statement (`protocol.witnessing.succession`
decides), after which we witness the new origin (`current_origin_in`: the end of the chain
from the member's first origin) and keep the old one's checkpoints as they were.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from backup_evidence.succession import SuccessionError, origin_parts
from crypto.keys import VerifyKey
from observatory.errors import UnknownAlarm
from observatory.identity import ObservatoryIdentity
from observatory.storage.database import Database
from protocol.responder import Refuse as RefuseRequest
from protocol.witness import CheckpointPush, LogSuccession, WitnessedCheckpoint, WitnessedQuery
from protocol.witnessing import (
    Cosign,
    Fork,
    Refuse,
    RefuseSuccession,
    Witnessed,
    cosigned_note,
    evidence_origin,
    succession,
    witness,
)

log = logging.getLogger("backup.observatory.witness")


@dataclass(frozen=True)
class CosignedCheckpoint:
    node_id: str
    origin: str
    size: int
    root_hash: bytes
    note: str  # as the node pushed it
    cosignature: str  # our tlog-cosignature line, without its newline
    cosigned_at: int

    @property
    def cosigned_note(self) -> str:
        """The node's signed note with our cosignature line added."""
        return cosigned_note(self.note, self.cosignature)


@dataclass(frozen=True)
class ForkAlarm:
    id: int
    node_id: str
    origin: str
    witnessed_size: int
    pushed_size: int
    old_note: str
    new_note: str
    detail: str
    raised_at: int
    acknowledged_at: int | None


class Checkpoints:
    def __init__(self, db: Database, identity: ObservatoryIdentity) -> None:
        self._db = db
        self._identity = identity

    def state_in(self, conn: sqlite3.Connection, origin: str) -> Witnessed | None:
        row = conn.execute("SELECT size, root_hash, note FROM witness_state WHERE origin = ?",
                           (origin,)).fetchone()
        return None if row is None else Witnessed(row[0], bytes(row[1]), row[2])

    def witness_in(self, conn: sqlite3.Connection, node_id: str, log_key: VerifyKey,
                   push: CheckpointPush, now: int,
                   role_key: VerifyKey | None = None) -> Cosign | Refuse | Fork:
        """Decide on `push` from member `node_id` (identity key `log_key`; `role_key`, its
        checkpoint role key from the role statement that came with the push's envelope)
        under the origin it follows for that node now, and store the outcome (write
        transaction)."""
        origin = self.current_origin_in(conn, node_id)
        last = self.state_in(conn, origin)
        result = witness(push, origin=origin, log_key=log_key, last=last,
                         cosigner=self._identity.cosigner, now=now, role_key=role_key)
        if isinstance(result, Cosign):
            state = result.witnessed
            conn.execute(
                "INSERT INTO witness_state (origin, node_id, size, root_hash, note, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
                "size = excluded.size, root_hash = excluded.root_hash, note = excluded.note, "
                "updated_at = excluded.updated_at",
                (origin, node_id, state.size, state.root_hash, state.note, now),
            )
            conn.execute(
                "INSERT INTO cosigned_checkpoints (origin, size, node_id, root_hash, note, "
                "cosignature, cosigned_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (origin, size) DO UPDATE SET note = excluded.note, "
                "cosignature = excluded.cosignature, cosigned_at = excluded.cosigned_at",
                (origin, state.size, node_id, state.root_hash, result.note,
                 result.cosignature_line, now),
            )
            log.info("cosigned %s at size %d", origin, state.size)
        elif isinstance(result, Fork):
            assert last is not None
            cursor = conn.execute(
                "INSERT INTO fork_alarms (node_id, origin, witnessed_size, pushed_size, "
                "old_note, new_note, detail, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (origin, old_note, new_note) DO NOTHING",
                (node_id, origin, last.size, push.summary.size, result.old_note,
                 result.new_note, result.detail, now),
            )
            log.warning("FORK ALARM: %s pushed a checkpoint of size %d inconsistent with the "
                        "witnessed size %d%s", origin, push.summary.size, last.size,
                        "" if cursor.rowcount else " (already recorded)")
        else:
            log.info("refused a checkpoint of %s: %s", origin, result.reason)
        return result

    def latest(self, node_id: str) -> CosignedCheckpoint | None:
        """The largest checkpoint of `node_id`'s current evidence log we cosigned (after a
        log succession that has none yet: the largest of the log before)."""
        conn = self._db.read()
        origin: str | None = self.current_origin_in(conn, node_id)
        while origin is not None:
            found = self.latest_in(conn, origin)
            if found is not None:
                return found
            row = conn.execute("SELECT old_origin FROM log_successions WHERE new_origin = ?",
                               (origin,)).fetchone()
            origin = None if row is None else str(row[0])
        return None

    def latest_in(self, conn: sqlite3.Connection, origin: str) -> CosignedCheckpoint | None:
        """The largest checkpoint of the log `origin` we cosigned."""
        row = conn.execute(
            "SELECT node_id, origin, size, root_hash, note, cosignature, cosigned_at "
            "FROM cosigned_checkpoints WHERE origin = ? ORDER BY size DESC LIMIT 1",
            (origin,),
        ).fetchone()
        if row is None:
            return None
        return CosignedCheckpoint(row[0], row[1], row[2], bytes(row[3]), row[4], row[5], row[6])

    # -- log successors (issue 21) ---------------------------------------------------------

    def current_origin_in(self, conn: sqlite3.Connection, node_id: str) -> str:
        """The origin we follow for `node_id`'s log: the end of the chain of successor
        statements recorded from its first origin."""
        origin = evidence_origin(node_id)
        for _ in range(10_000):  # each statement names the next origin: no loop
            row = conn.execute("SELECT new_origin FROM log_successions WHERE old_origin = ?",
                               (origin,)).fetchone()
            if row is None:
                return origin
            origin = str(row[0])
        raise RuntimeError("the chain of log successions does not end")

    def witnessed_in(self, conn: sqlite3.Connection, node_id: str,
                     query: WitnessedQuery) -> WitnessedCheckpoint:
        """What we cosigned last of `node_id`'s log `query.origin` (a member asks after a
        restore, before it signs again): the note with our cosignature line."""
        try:
            owner = origin_parts(query.origin)[0]
        except SuccessionError:
            owner = None
        if owner != node_id:
            raise RefuseRequest("unknown_log")
        found = self.latest_in(conn, query.origin)
        return WitnessedCheckpoint(origin=query.origin,
                                   note=None if found is None else found.cosigned_note,
                                   current_origin=self.current_origin_in(conn, node_id))

    def succession_in(self, conn: sqlite3.Connection, node_id: str, log_key: VerifyKey,
                      message: LogSuccession, now: int,
                      role_key: VerifyKey | None = None) -> None:
        """Record a member's successor statement (write transaction), or `Refuse` it. It is
        checked with the keys its checkpoints are (`role_key`, its checkpoint role key, or
        its identity key `log_key`). From then on only checkpoints of the new origin are
        witnessed; the old ones are kept."""
        current = self.current_origin_in(conn, node_id)
        recorded = conn.execute("SELECT 1 FROM log_successions WHERE statement = ?",
                                (message.statement,)).fetchone()
        if recorded is not None:
            return  # a retry of one already recorded
        result = succession(message.statement, node_id=node_id, log_key=log_key,
                            current_origin=current, last=self.state_in(conn, current),
                            role_key=role_key)
        if isinstance(result, RefuseSuccession):
            log.info("refused a successor statement of %s: %s", current, result.reason)
            raise RefuseRequest(result.reason)
        st = result.statement
        conn.execute(
            "INSERT INTO log_successions (new_origin, node_id, old_origin, old_size, old_root, "
            "statement, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (st.new_origin, node_id, st.old_origin, st.old_size, st.old_root,
             message.statement, now))
        log.warning("log succession: %s continues as %s after %d leaves (a restore)",
                    st.old_origin, st.new_origin, st.old_size)

    def alarms(self, *, unacknowledged_only: bool = False) -> list[ForkAlarm]:
        """Fork alarms, unacknowledged first, newest first."""
        rows = self._db.read().execute(
            "SELECT id, node_id, origin, witnessed_size, pushed_size, old_note, new_note, "
            "detail, raised_at, acknowledged_at FROM fork_alarms "
            "WHERE NOT ? OR acknowledged_at IS NULL "
            "ORDER BY acknowledged_at IS NOT NULL, raised_at DESC, id DESC",
            (unacknowledged_only,),
        ).fetchall()
        return [ForkAlarm(*row) for row in rows]

    def acknowledge(self, alarm_id: int, now: int) -> None:
        """The admin has seen the alarm (and acted on it out of band). Both notes are kept."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE fork_alarms SET acknowledged_at = coalesce(acknowledged_at, ?) "
                "WHERE id = ?", (now, alarm_id))
            if cursor.rowcount == 0:
                raise UnknownAlarm(f"no fork alarm {alarm_id}")
