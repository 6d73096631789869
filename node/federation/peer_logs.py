"""This node as a witness of its peers' evidence logs.

A member node pushes its checkpoints here; the decision is the shared pure function
`protocol.witnessing.witness` (the observatory uses the same one). What it says to keep is
kept here, in the same transaction as the envelope's replay record, so that a crash leaves
either both or neither (`transport.inbox`):

* `Cosign`: the new witnessed state of that origin and the cosignature line (a retry of the
  same push gets the same answer again: same size and root are cosigned again);
* `Fork`: both signed notes, as the proof of a split view, and an alarm on the staff
  federation page;
* `Refuse`: nothing.
"""

from __future__ import annotations

import sqlite3

from backup_evidence.succession import SuccessionError, SuccessorStatement, origin_parts
from crypto.checkpoint import Cosigner, SignedNote
from crypto.errors import CryptoError
from crypto.keys import SigningKey, VerifyKey
from node.evidence import succession
from node.federation import store
from protocol import responder
from protocol.witness import (
    CheckpointPush,
    CosignatureResponse,
    LogSuccession,
    WitnessedCheckpoint,
    WitnessedQuery,
)
from protocol.witnessing import (
    Cosign,
    Fork,
    Refuse,
    RefuseSuccession,
    cosigned_note,
    response_for,
    witness,
    witness_name,
)
from protocol.witnessing import succession as succession_decision


def cosigner(node_id: str, witness_key: SigningKey) -> Cosigner:
    """This node's cosigner: its witness role key (bound by its role statement, which
    goes with every answer's envelope), named ``backup.witness/<node id>``."""
    return Cosigner(witness_name(node_id), witness_key)


def _decide(conn: sqlite3.Connection, push: CheckpointPush, *, sender: str,
            sender_key: VerifyKey, role_key: VerifyKey | None, node_id: str,
            witness_key: SigningKey, now: int) -> Cosign | Refuse | Fork:
    origin = succession.current_origin(conn, sender)
    return witness(push, origin=origin, log_key=sender_key, last=store.witnessed(conn, origin),
                   cosigner=cosigner(node_id, witness_key), now=now, role_key=role_key)


def answer_again(conn: sqlite3.Connection, push: CheckpointPush, *, sender: str,
                 sender_key: VerifyKey, role_key: VerifyKey | None, node_id: str,
                 witness_key: SigningKey, now: int) -> CosignatureResponse:
    """The answer to a retried push already handled, from the current state; stores nothing."""
    result = _decide(conn, push, sender=sender, sender_key=sender_key, role_key=role_key,
                     node_id=node_id, witness_key=witness_key, now=now)
    return response_for(result, push=push)


def witness_push(conn: sqlite3.Connection, push: CheckpointPush, *, sender: str,
                 sender_key: VerifyKey, role_key: VerifyKey | None, node_id: str,
                 witness_key: SigningKey, now: int) -> CosignatureResponse:
    """Decide on a member's push, keep what must be kept, return the answer. Runs inside
    the caller's write transaction."""
    origin = succession.current_origin(conn, sender)
    result = _decide(conn, push, sender=sender, sender_key=sender_key, role_key=role_key,
                     node_id=node_id, witness_key=witness_key, now=now)
    if isinstance(result, Cosign):
        store.store_witnessed(conn, origin, sender, result.witnessed, result.cosignature_line,
                              now)
    elif isinstance(result, Fork):
        store.raise_alarm(conn, "peer_fork", origin, sender, first_note=result.old_note,
                          second_note=result.new_note, detail=result.detail, now=now)
    return response_for(result, push=push)


# -- after a member's restore (issue 21) -------------------------------------------------------


def witnessed_answer(conn: sqlite3.Connection, query: WitnessedQuery, *,
                     sender: str) -> WitnessedCheckpoint:
    """What this node cosigned of `sender`'s log `query.origin` (its latest note, with our
    cosignature line), and the origin we follow for it now."""
    current = succession.current_origin(conn, sender)
    try:
        owner = origin_parts(query.origin)[0]
    except SuccessionError:
        owner = None
    if owner != sender:
        raise responder.Refuse("unknown_log")
    last = store.witnessed(conn, query.origin)
    line = store.witnessed_cosignature(conn, query.origin)
    note = None if last is None or line is None else cosigned_note(last.note, line)
    return WitnessedCheckpoint(origin=query.origin, note=note, current_origin=current)


def record_succession(conn: sqlite3.Connection, message: LogSuccession, *, sender: str,
                      sender_key: VerifyKey, role_key: VerifyKey | None, now: int) -> None:
    """Record a member's successor statement, or refuse it (`Refuse` with the reason). It
    is checked with the keys its checkpoints are: the checkpoint role key `role_key` of the
    role statement its envelope carries, or its identity key `sender_key`."""
    current = succession.current_origin(conn, sender)
    try:
        statement = SuccessorStatement.parse_text(
            SignedNote.parse(message.statement.encode("utf-8")).text)
    except (SuccessionError, CryptoError):
        statement = None
    if statement is not None and statement.new_origin == current and succession.succeeds(
            conn, statement.old_origin, current):
        return  # already recorded: a retry
    result = succession_decision(message.statement, node_id=sender, log_key=sender_key,
                                 current_origin=current, last=store.witnessed(conn, current),
                                 role_key=role_key)
    if isinstance(result, RefuseSuccession):
        raise responder.Refuse(result.reason)
    succession.record(conn, result.statement, message.statement, now)
