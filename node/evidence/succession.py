"""After a restore: holding the evidence log's signing, and continuing it under a successor
origin (issue 21).

A node restored from a backup may hold a shorter log than the one its witnesses cosigned:
the reports of the lost interval are gone, and the leaves it appends now would take their
places. Signing over them would fork the log (two trees of one origin that cannot both be
true: what a witness raises a fork alarm about, and what a court would hold against every
checkpoint of the node). So:

* `restore` of a federated node sets the **hold** (``node_meta.evidence_hold``) to
  ``check``: the node keeps accepting reports (leaves are appended as always) but signs no
  checkpoint, and the federation sends nothing but the questions below;
* the federation asks every witness for the largest checkpoint of our log it cosigned
  (`protocol.witness.WitnessedQuery`); an answer within our tree (same root at that size)
  is noted, and once every witness has answered so, the hold is lifted: nothing newer was
  cosigned, and the node signs on as before;
* an answer beyond our tree, or with another root, turns the hold to ``halted``, keeping
  that cosigned checkpoint (the largest seen). Only the documented procedure lifts it
  (`begin_successor`, ``backup-node evidence-successor``): a successor statement
  (`backup_evidence.succession`) signed by the node's checkpoint role key names the old
  origin, that cosigned size and root, and the next origin; checkpoints are signed under
  the new origin from then on (continuing the tree the node holds), and the witnesses
  record the statement before they are sent one.

`maybe_checkpoint` refuses to sign while held, and signs only under the current origin:
the end of the chain of `log_successions` from the node's first origin.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Literal

from backup_evidence.succession import (
    SuccessorStatement,
    first_origin,
    next_origin,
    open_statement,
)
from crypto.checkpoint import NoteSigner
from crypto.keys import SigningKey
from node.evidence.errors import EvidenceError

HOLD = "evidence_hold"

HoldState = Literal["check", "halted"]


class NotHalted(EvidenceError):
    """The successor procedure is for a node whose witnesses hold a larger tree."""


@dataclass(frozen=True)
class Hold:
    state: HoldState
    since: int
    # witness node id -> the size it cosigned of our log (0: nothing), for those that
    # answered within our tree
    answered: dict[str, int] = field(default_factory=dict)
    # halted: the largest cosigned checkpoint beyond (or against) our tree, and who holds it
    cosigned_note: str | None = None
    cosigned_size: int | None = None
    cosigned_root: str | None = None  # hex
    cosigned_by: str | None = None

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Hold:
        data = json.loads(raw.decode("utf-8"))
        return cls(**data)


def hold(conn: sqlite3.Connection) -> Hold | None:
    """The hold on signing, or None when the node signs as usual."""
    row = conn.execute("SELECT value FROM node_meta WHERE key = ?", (HOLD,)).fetchone()
    return None if row is None else Hold.from_bytes(bytes(row[0]))


def set_hold(conn: sqlite3.Connection, value: Hold) -> None:
    conn.execute("INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                 "DO UPDATE SET value = excluded.value", (HOLD, value.to_bytes()))


def clear_hold(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM node_meta WHERE key = ?", (HOLD,))


# -- origins and statements --------------------------------------------------------------------


def current_origin(conn: sqlite3.Connection, node_id: str) -> str:
    """The origin `node_id`'s log is signed under now: the end of the chain of recorded
    successor statements from its first origin (works for this node and for the peers it
    witnesses alike)."""
    origin = first_origin(node_id)
    for _ in range(10_000):  # each statement names the next origin: the chain cannot loop
        row = conn.execute("SELECT new_origin FROM log_successions WHERE old_origin = ?",
                           (origin,)).fetchone()
        if row is None:
            return origin
        origin = str(row[0])
    raise EvidenceError("the chain of log successions does not end")


def current_signer(conn: sqlite3.Connection, node_id: str, key: SigningKey) -> NoteSigner:
    """The note signer of this node's checkpoints now: its key, named after the origin."""
    return NoteSigner(current_origin(conn, node_id), key)


def statements_to(conn: sqlite3.Connection, node_id: str, origin: str) -> list[str]:
    """The signed statements leading from `node_id`'s first origin to `origin`, in order
    (empty for the first origin), for a court bundle."""
    chain: list[str] = []
    at = first_origin(node_id)
    while at != origin:
        row = conn.execute("SELECT new_origin, statement FROM log_successions "
                           "WHERE old_origin = ?", (at,)).fetchone()
        if row is None:
            raise EvidenceError(f"no recorded succession leads to {origin}")
        chain.append(str(row[1]))
        at = str(row[0])
    return chain


def succeeds(conn: sqlite3.Connection, old: str, new: str) -> bool:
    """`new` follows `old` through recorded statements."""
    at = old
    while at != new:
        row = conn.execute("SELECT new_origin FROM log_successions WHERE old_origin = ?",
                           (at,)).fetchone()
        if row is None:
            return False
        at = str(row[0])
    return True


def record(conn: sqlite3.Connection, statement: SuccessorStatement, note: str,
           now: int) -> bool:
    """Keep a successor statement (already verified); False if it was already kept."""
    cursor = conn.execute(
        "INSERT INTO log_successions (new_origin, node_id, old_origin, old_size, old_root, "
        "statement, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (statement.new_origin, statement.node_id, statement.old_origin, statement.old_size,
         statement.old_root, note, now))
    return cursor.rowcount == 1


def begin_successor(conn: sqlite3.Connection, node_id: str, key: SigningKey,
                    now: int) -> SuccessorStatement:
    """The admin's procedure, in the caller's write transaction: sign and keep the
    successor statement that ends the current origin at the cosigned checkpoint the
    witnesses hold, and lift the halt. Raises `NotHalted` unless the node is halted."""
    held = hold(conn)
    if held is None or held.state != "halted" or held.cosigned_size is None \
            or held.cosigned_root is None:
        raise NotHalted("the node is not halted by a larger cosigned tree: nothing to do "
                        "(a node still checking its witnesses waits for their answers)")
    old = current_origin(conn, node_id)
    statement = SuccessorStatement(old, held.cosigned_size, bytes.fromhex(held.cosigned_root),
                                   next_origin(old))
    note = statement.sign(key)
    open_statement(note, key.verify_key)  # what every witness will check
    record(conn, statement, note, now)
    clear_hold(conn)
    return statement
