"""Witnesses for this node's own evidence log: what to push, and what their answers mean.

After each new signed checkpoint the node pushes it to every witness (the observatory and the
configured peer nodes) with the consistency proof from the size that witness last cosigned
for us (c2sp.org/tlog-witness, "add-checkpoint": ``old <size>`` and the proof). Answers:

* `cosigned`: the C2SP tlog-cosignature line is checked against the witness's key (name
  ``backup.witness/<witness node id>``): its witness role key, bound by the role statement
  its answer's envelope carried, or its identity key (the observatory, a generation-0
  peer), over our stored checkpoint (signed by our checkpoint key, or our identity key
  before role keys), then kept; court
  bundles append it to the checkpoint note (`store.with_cosignatures`).
* `old_size_mismatch` / `smaller_tree` with the witness's `witnessed_size`: push again from
  that size. A witness that says it cosigned *more* leaves than this node ever signed has
  seen a checkpoint of our log we did not make: raised as an alarm.
* `inconsistent`: a witness saw our log fork. The alarm is raised with our notes, and pushes
  to that witness stop until an admin has looked (the witness would refuse every one).
* any other refusal, or a rejected delivery: kept as the witness's last outcome; the item is
  given up and a fresh push goes at the next check.
"""

from __future__ import annotations

import sqlite3

from backup_evidence.succession import SuccessionError, origin_parts
from crypto.checkpoint import CosignatureVerifier, Ed25519Verifier, open_checkpoint
from crypto.errors import CryptoError
from crypto.keys import VerifyKey
from node.evidence import checkpoints, log_store, succession
from node.federation import store
from node.federation.errors import BadAnswer, Refused
from protocol.delivery import DeliveryAck
from protocol.message import Message
from protocol.witness import CheckpointPush, CosignatureResponse
from protocol.witnessing import cosigned_note, witness_name

# A cosignature claims a time (c2sp.org/tlog-cosignature, "Format"); one from further in the
# future than the envelope clock skew allows is refused (protocol.envelope.FreshnessPolicy).
MAX_COSIGNATURE_SKEW = 300

# Outcomes after which pushing to a witness stops until an admin has looked.
STOPPED = frozenset({"inconsistent", "witness_ahead"})


def next_push(conn: sqlite3.Connection, witness: str) -> CheckpointPush | None:
    """The push this witness still needs, or None (nothing signed, already cosigned, or
    pushes to it are stopped by an alarm)."""
    latest = checkpoints.latest_checkpoint(conn)
    if latest is None:
        return None
    state = store.witness_of_ours(conn, witness)
    old_size = None if state is None else state.cosigned_size
    if state is not None and state.last_outcome in STOPPED:
        return None
    if witness in dict(store.cosignature_lines(conn, latest.size)):
        return None  # cosigned, and the line is kept
    if old_size is not None and old_size > latest.size:
        return None  # the witness is ahead of us: an alarm was raised (`_alarm_ahead`)
    # old_size == latest.size: the witness cosigned it but its line never reached us (a
    # lost answer); pushed again with the empty proof, it cosigns the same tree again.
    proof: tuple[str, ...] = ()
    if old_size is not None and 0 < old_size < latest.size:
        consistency = log_store.consistency_proof(conn, old_size, latest.size)
        proof = tuple(h.hex() for h in consistency.path)
    return CheckpointPush(checkpoint=latest.note.decode("utf-8"), old_size=old_size,
                          consistency_proof=proof)


def handle_answer(conn: sqlite3.Connection, answer: Message, *, node_id: str,
                  log_keys: tuple[VerifyKey, ...], witness: str, witness_key: VerifyKey,
                  now: int) -> str:
    """Store what `witness` answered to a push; return the outcome code. Runs inside the
    caller's write transaction. Raises `Refused` (give the item up) or `BadAnswer` (retry)."""
    if isinstance(answer, DeliveryAck):
        if answer.status == "rejected":
            reason = answer.reason or "rejected"
            store.record_outcome(conn, witness, reason, now)
            raise Refused(reason)
        # A retry of a push the witness already handled: its answer was lost. The next
        # check pushes again and the witness answers for its current state.
        store.record_outcome(conn, witness, answer.status, now)
        return answer.status
    if not isinstance(answer, CosignatureResponse):
        raise BadAnswer("not an answer to a checkpoint push")
    origin = answer.origin
    if not _ours(origin, node_id):  # our first log or a successor of it (issue 21)
        raise BadAnswer("the answer is about another log")
    if answer.outcome == "cosigned":
        assert answer.cosignature is not None  # CosignatureResponse's validator
        return _cosigned(conn, answer.size, answer.cosignature, node_id=node_id,
                         log_keys=log_keys, witness=witness, witness_key=witness_key, now=now)
    reason = answer.refusal or "refused"
    latest = checkpoints.latest_checkpoint(conn)
    ours = 0 if latest is None else latest.size
    theirs = answer.witnessed_size
    if theirs is not None and theirs > ours:
        if succession.hold(conn) is not None:
            # A push that waited in a restored outbox: the witness holds more than the
            # backup did, which the hold deals with (issue 21), not an alarm.
            store.record_outcome(conn, witness, "witness_ahead_of_restore", now)
            return "witness_ahead_of_restore"
        _alarm_ahead(conn, origin, witness, theirs, latest, now)
        return "witness_ahead"
    if reason == "inconsistent":
        # The witness's conflicting note is not in its answer; ours are: the one it
        # refused and, if it named another size, the one we signed at that size.
        first = (None if theirs is None or theirs == answer.size
                 else checkpoints.checkpoint_at(conn, theirs))
        pushed = checkpoints.checkpoint_at(conn, answer.size)
        store.raise_alarm(
            conn, "own_log_fork", origin, witness,
            first_note=None if first is None else first.note.decode("utf-8"),
            second_note=("" if pushed is None else pushed.note.decode("utf-8")),
            detail=answer.detail, now=now)
        store.record_outcome(conn, witness, reason, now)
        return reason
    if reason in ("old_size_mismatch", "smaller_tree") and theirs is not None:
        store.record_outcome(conn, witness, reason, now, witnessed_size=theirs)
        return reason  # the next push starts from `theirs`
    store.record_outcome(conn, witness, reason, now)
    raise Refused(reason)


def _ours(origin: str, node_id: str) -> bool:
    try:
        return origin_parts(origin)[0] == node_id
    except SuccessionError:
        return False


def _cosigned(conn: sqlite3.Connection, size: int, line: str, *, node_id: str,
              log_keys: tuple[VerifyKey, ...], witness: str, witness_key: VerifyKey,
              now: int) -> str:
    stored = checkpoints.checkpoint_at(conn, size)
    if stored is None:
        raise BadAnswer("a cosignature for a tree size this node never signed")
    verifier = CosignatureVerifier(witness_name(witness), witness_key)
    opened = None
    for log_key in log_keys:  # our checkpoint key, or our identity key for older ones
        try:
            note = cosigned_note(stored.note.decode("utf-8"), line)
            # under the origin it was signed as: our first log's, or a successor's (issue 21)
            _, opened = open_checkpoint(note.encode("utf-8"),
                                        Ed25519Verifier(stored.checkpoint.origin, log_key),
                                        [verifier])
            break
        except (CryptoError, ValueError):
            continue
    if opened is None:
        raise BadAnswer("the cosignature does not verify")
    if not opened.is_signed_by(verifier):
        raise BadAnswer("the cosignature is not by this witness's key")
    signature = next(s for s in opened.verified if s.name == verifier.name)
    if int.from_bytes(signature.signature[:8], "big") > now + MAX_COSIGNATURE_SKEW:
        raise BadAnswer("the cosignature claims a time in the future")
    store.record_cosignature(conn, witness, size, line, now)
    return "cosigned"


def _alarm_ahead(conn: sqlite3.Connection, origin: str, witness: str, theirs: int,
                 latest: checkpoints.StoredCheckpoint | None, now: int) -> None:
    """A witness holds a checkpoint of our log larger than any we signed: someone else
    signed with our log key (or our database lost checkpoints). Either way: an alarm."""
    store.raise_alarm(
        conn, "witness_ahead", origin, witness, first_note=None,
        second_note="" if latest is None else latest.note.decode("utf-8"),
        detail=f"the witness says it cosigned {theirs} leaves of this log; this node has "
               f"signed {0 if latest is None else latest.size}",
        now=now)
    store.record_outcome(conn, witness, "witness_ahead", now)
