"""A restored node and its witnesses (issue 21): what it asks before it signs again, and how
its successor log reaches them.

While the evidence log's signing is held (`node.evidence.succession`), the federation asks
every witness (the observatory and the peer witnesses that are members) for the largest
checkpoint of our log it cosigned, `WitnessedQuery`, and sends nothing else: no pushes, no
expert work. Each answer is believed only if the note is signed by our log key under our
current origin *and* cosigned by that witness's key; then:

* within our tree (its size at most ours, and our root at that size is its root): noted;
  once every witness has answered so, the hold is lifted (``resumed``);
* beyond our tree, or another root: ``halted``, keeping the largest such cosigned
  checkpoint, the one the successor statement will name.

After the admin's procedure, each witness is sent the successor statements it has not
acknowledged (`LogSuccession`, oldest first) before any push of the new origin; once one
acknowledges, what it last cosigned for us is forgotten (it was of the old origin), so the
first push of the new origin carries no old size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from backup_evidence.succession import first_origin
from crypto.checkpoint import CosignatureVerifier, Ed25519Verifier, open_checkpoint
from crypto.errors import CryptoError
from crypto.keys import VerifyKey
from node.evidence import log_store, succession
from node.federation import store
from node.federation.errors import BadAnswer, Refused
from protocol.delivery import DeliveryAck
from protocol.message import Message
from protocol.witness import LogSuccession, WitnessedCheckpoint, WitnessedQuery
from protocol.witnessing import witness_name


def query(conn: sqlite3.Connection, node_id: str) -> WitnessedQuery:
    return WitnessedQuery(origin=succession.current_origin(conn, node_id))


def to_ask(conn: sqlite3.Connection, witnesses: Iterable[str]) -> list[str]:
    """The witnesses a held node still has to hear from (none when not held)."""
    held = succession.hold(conn)
    if held is None:
        return []
    return [w for w in witnesses if w not in held.answered]


def handle_witnessed(conn: sqlite3.Connection, answer: Message, *, node_id: str,
                     log_keys: tuple[VerifyKey, ...], witness: str, witness_key: VerifyKey,
                     witnesses: Iterable[str], now: int) -> str:
    """Keep what `witness` says it cosigned of our log (caller's write transaction); return
    the outcome: ``answered``, ``resumed``, ``halted`` or ``not_held``. `log_keys`: our
    checkpoint role key, and our identity key (checkpoints from before role keys);
    `witness_key`: the witness's witness role key (or its identity key)."""
    if isinstance(answer, DeliveryAck):
        reason = answer.reason or answer.status
        store.record_outcome(conn, witness, f"query_{reason}"[:48], now)
        raise Refused(reason)
    if not isinstance(answer, WitnessedCheckpoint):
        raise BadAnswer("not an answer to a witnessed-checkpoint query")
    held = succession.hold(conn)
    if held is None:
        return "not_held"  # a late answer: the hold was lifted meanwhile
    origin = succession.current_origin(conn, node_id)
    if answer.origin != origin:
        raise BadAnswer("the answer is about another log")
    size, root = 0, b""
    if answer.note is not None:
        verifier = CosignatureVerifier(witness_name(witness), witness_key)
        opened = None
        for log_key in log_keys:
            try:
                checkpoint, opened = open_checkpoint(
                    answer.note.encode("utf-8"), Ed25519Verifier(origin, log_key), [verifier])
                break
            except (CryptoError, ValueError):
                continue
        if opened is None:
            raise BadAnswer("the witnessed checkpoint does not verify")
        if not opened.is_signed_by(verifier):
            raise BadAnswer("the checkpoint is not cosigned by this witness")
        size, root = checkpoint.size, checkpoint.root_hash
    ours = log_store.log_size(conn)
    within = size == 0 or (size <= ours and log_store.root_at(conn, size) == root)
    if not within:
        assert answer.note is not None
        if held.cosigned_size is None or size > held.cosigned_size:
            succession.set_hold(conn, succession.Hold(
                "halted", held.since, held.answered, answer.note, size, root.hex(), witness))
        store.record_outcome(conn, witness, "witness_ahead_of_restore", now)
        return "halted"
    answered = {**held.answered, witness: size}
    store.record_outcome(conn, witness, "witnessed_within", now)
    if held.state == "check" and set(witnesses) <= set(answered):
        succession.clear_hold(conn)
        return "resumed"
    succession.set_hold(conn, succession.Hold(
        held.state, held.since, answered, held.cosigned_note, held.cosigned_size,
        held.cosigned_root, held.cosigned_by))
    return "answered"


def _chain(conn: sqlite3.Connection, node_id: str) -> list[tuple[str, str]]:
    """(new origin, statement) of our recorded successions, oldest first."""
    at, out = first_origin(node_id), list[tuple[str, str]]()
    while True:
        row = conn.execute("SELECT new_origin, statement FROM log_successions "
                           "WHERE old_origin = ?", (at,)).fetchone()
        if row is None:
            return out
        out.append((str(row[0]), str(row[1])))
        at = str(row[0])


def _unacknowledged(conn: sqlite3.Connection, node_id: str,
                    witness: str) -> tuple[str, str] | None:
    for new_origin, statement in _chain(conn, node_id):
        if conn.execute("SELECT 1 FROM log_succession_acks WHERE witness = ? AND "
                        "new_origin = ?", (witness, new_origin)).fetchone() is None:
            return new_origin, statement
    return None


def pending_succession(conn: sqlite3.Connection, node_id: str,
                       witness: str) -> LogSuccession | None:
    """The successor statement `witness` must record before it is pushed anything, if any."""
    pending = _unacknowledged(conn, node_id, witness)
    return None if pending is None else LogSuccession(statement=pending[1])


def handle_succession_answer(conn: sqlite3.Connection, answer: Message, *, node_id: str,
                             witness: str, now: int) -> str:
    """Keep a witness's answer to our successor statement (one is in flight per witness at a
    time: the oldest it has not acknowledged)."""
    if not isinstance(answer, DeliveryAck):
        raise BadAnswer("not an answer to a successor statement")
    pending = _unacknowledged(conn, node_id, witness)
    if answer.status == "rejected":
        reason = answer.reason or "rejected"
        store.record_outcome(conn, witness, f"succession_{reason}"[:48], now)
        raise Refused(reason)
    if pending is None:
        return "duplicate"
    conn.execute("INSERT INTO log_succession_acks (witness, new_origin, acked_at) "
                 "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (witness, pending[0], now))
    # What it cosigned for us was of the old origin: the new one starts afresh.
    conn.execute("UPDATE federation_witnesses SET cosigned_size = NULL, last_outcome = "
                 "'succession_recorded', updated_at = ? WHERE witness = ?", (now, witness))
    return "succession_recorded"
