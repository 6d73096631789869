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
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from crypto.keys import VerifyKey
from observatory.errors import UnknownAlarm
from observatory.identity import ObservatoryIdentity
from observatory.storage.database import Database
from protocol.witness import CheckpointPush
from protocol.witnessing import (
    Cosign,
    Fork,
    Refuse,
    Witnessed,
    cosigned_note,
    evidence_origin,
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
        and store the outcome (write transaction)."""
        origin = evidence_origin(node_id)
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
        """The largest checkpoint of `node_id`'s evidence log we cosigned."""
        row = self._db.read().execute(
            "SELECT node_id, origin, size, root_hash, note, cosignature, cosigned_at "
            "FROM cosigned_checkpoints WHERE origin = ? ORDER BY size DESC LIMIT 1",
            (evidence_origin(node_id),),
        ).fetchone()
        if row is None:
            return None
        return CosignedCheckpoint(row[0], row[1], row[2], bytes(row[3]), row[4], row[5], row[6])

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
