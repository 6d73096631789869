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

from crypto.checkpoint import Cosigner
from crypto.keys import SigningKey, VerifyKey
from node.federation import store
from protocol.witness import CheckpointPush, CosignatureResponse
from protocol.witnessing import (
    Cosign,
    Fork,
    Refuse,
    evidence_origin,
    response_for,
    witness,
    witness_name,
)


def cosigner(node_id: str, witness_key: SigningKey) -> Cosigner:
    """This node's cosigner: its witness role key (bound by its role statement, which
    goes with every answer's envelope), named ``backup.witness/<node id>``."""
    return Cosigner(witness_name(node_id), witness_key)


def _decide(conn: sqlite3.Connection, push: CheckpointPush, *, sender: str,
            sender_key: VerifyKey, role_key: VerifyKey | None, node_id: str,
            witness_key: SigningKey, now: int) -> Cosign | Refuse | Fork:
    origin = evidence_origin(sender)
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
    origin = evidence_origin(sender)
    result = _decide(conn, push, sender=sender, sender_key=sender_key, role_key=role_key,
                     node_id=node_id, witness_key=witness_key, now=now)
    if isinstance(result, Cosign):
        store.store_witnessed(conn, origin, sender, result.witnessed, result.cosignature_line,
                              now)
    elif isinstance(result, Fork):
        store.raise_alarm(conn, "peer_fork", origin, sender, first_note=result.old_note,
                          second_note=result.new_note, detail=result.detail, now=now)
    return response_for(result, push=push)
