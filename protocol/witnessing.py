"""The witness's decision, sans-IO: cosign a pushed checkpoint, or refuse it and say why.

Used by the observatory and by the nodes' peer witnesses alike (issue 5, "Witnessed
checkpoints"). A witness cosigns a checkpoint only if it consistently extends the last one
it cosigned for the same log (c2sp.org/tlog-witness, "add-checkpoint"; RFC 9162 §2.1.4):

1. the note parses and is signed under the origin name by the log's checkpoint key: the
   checkpoint role key of the node's identity-signed role statement (issue 13; the
   caller verified the statement, which came with the push's envelope), or the identity
   key itself for checkpoints signed before role keys (generation 0)
   (`crypto.checkpoint.Ed25519Verifier(origin, key)`)         else `bad_checkpoint_signature`;
2. its origin is the one the witness expects for that log         else `unknown_log`
   (checked before the signature, which is made under the origin name); a tree of size 0
   must have the empty root (RFC 9162 §2.1.1)                      else `malformed`;
3. nothing witnessed yet: cosign (trust on first use);
4. same size: same root → cosign again (idempotent); another root → `Fork`;
5. smaller than the witnessed size                                 → `smaller_tree`;
6. larger: the push's `old_size` must be the witnessed size       else `old_size_mismatch`
   (with the witnessed size, tlog-witness's 409), and the consistency proof from the
   witnessed checkpoint to the pushed one must verify              else `Fork`.

A `Fork` carries both signed notes: two checkpoints signed by the same log key that cannot
both be true are the proof of a split view that the witness keeps and raises an alarm about.

Pure: time comes in as `now`, state as `last`, and the result says what to store
(`Cosign.witnessed`). The caller stores it and answers with `response_for(result, push=...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from backup_evidence.succession import SuccessionError, SuccessorStatement, open_statement
from crypto.checkpoint import (
    Checkpoint,
    Cosigner,
    Ed25519Verifier,
    NoteSignature,
    SignedNote,
    open_checkpoint,
)
from crypto.errors import CryptoError, FormatError, ProofError
from crypto.keys import VerifyKey
from crypto.merkle import EMPTY_ROOT, verify_consistency
from protocol.witness import CheckpointPush, CosignatureResponse, RefusalReason

# A `CosignatureResponse.detail` is `ShortText`: at most 1,000 characters.
_MAX_DETAIL = 1000


def evidence_origin(node_id: str) -> str:
    """The origin (and note key name) of a node's evidence log: ``backup.node/<id>/evidence``."""
    return f"backup.node/{node_id}/evidence"


def witness_name(node_id: str) -> str:
    """The cosigner name of a witness (observatory or peer node): ``backup.witness/<id>``."""
    return f"backup.witness/{node_id}"


@dataclass(frozen=True)
class Witnessed:
    """The last checkpoint this witness cosigned for one origin."""

    size: int
    root_hash: bytes
    note: str  # that checkpoint's signed note text, as received


@dataclass(frozen=True)
class Cosign:
    """Cosign: return `cosignature_line`, store `witnessed`."""

    checkpoint: Checkpoint
    note: str  # the pushed note
    # The C2SP tlog-cosignature signature line, without its final newline (the form
    # `CosignatureResponse.cosignature` carries). Append it with `cosigned_note`.
    cosignature_line: str
    witnessed: Witnessed


@dataclass(frozen=True)
class Refuse:
    """Refuse; store nothing."""

    reason: RefusalReason
    witnessed_size: int | None
    detail: str


@dataclass(frozen=True)
class Fork(Refuse):
    """Refuse (reason ``inconsistent``); keep both notes as proof and raise the alarm."""

    old_note: str
    new_note: str


Result = Cosign | Refuse | Fork


def _refuse(reason: RefusalReason, witnessed_size: int | None, detail: str) -> Refuse:
    return Refuse(reason, witnessed_size, detail[:_MAX_DETAIL])


def _fork(last: Witnessed, new_note: str, detail: str) -> Fork:
    return Fork("inconsistent", last.size, detail[:_MAX_DETAIL], last.note, new_note)


def witness(
    push: CheckpointPush,
    *,
    origin: str,
    log_key: VerifyKey,
    last: Witnessed | None,
    cosigner: Cosigner,
    now: int,
    role_key: VerifyKey | None = None,
) -> Cosign | Refuse | Fork:
    """Decide on `push` for the log `origin` of the node whose identity key is `log_key`
    and whose checkpoint role key (bound by its verified role statement) is `role_key`
    (see the module doc)."""
    note = push.checkpoint
    data = note.encode("utf-8")
    try:
        claimed = Checkpoint.parse(SignedNote.parse(data).text)
    except FormatError:
        return _refuse(
            "bad_checkpoint_signature", _size(last), "the checkpoint note does not parse"
        )
    if claimed.origin != origin:
        # Checked before the signature: a checkpoint of another log is not ours to judge.
        return _refuse("unknown_log", _size(last), "this witness does not witness that origin")
    checkpoint = _open(data, origin, [k for k in (role_key, log_key) if k is not None])
    if checkpoint is None:
        return _refuse(
            "bad_checkpoint_signature",
            _size(last),
            "the checkpoint is not signed by the log's key under its origin name",
        )
    if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
        # RFC 9162 §2.1.1: MTH({}) = SHA-256(""). No tree of size 0 has another root.
        return _refuse("malformed", _size(last), "a tree of size 0 has the empty root")

    if last is None:
        return _cosign(checkpoint, note, cosigner, now)
    if checkpoint.size == last.size:
        if checkpoint.root_hash == last.root_hash:
            return _cosign(checkpoint, note, cosigner, now)
        return _fork(last, note, f"two different roots for tree size {last.size}")
    if checkpoint.size < last.size:
        return _refuse(
            "smaller_tree",
            last.size,
            f"tree size {checkpoint.size} is smaller than the witnessed size {last.size}",
        )
    if push.old_size != last.size:
        return _refuse(
            "old_size_mismatch",
            last.size,
            f"the proof must start at the witnessed size {last.size}",
        )
    if last.size > 0:  # the empty tree is a prefix of every tree (RFC 9162 §2.1.4)
        try:
            verify_consistency(
                size1=last.size,
                size2=checkpoint.size,
                root1=last.root_hash,
                root2=checkpoint.root_hash,
                path=[bytes.fromhex(h) for h in push.consistency_proof],
            )
        except ProofError as exc:
            return _fork(last, note, f"no consistency: {exc}")
    return _cosign(checkpoint, note, cosigner, now)


def _open(data: bytes, origin: str, keys: list[VerifyKey]) -> Checkpoint | None:
    """The checkpoint, if one of `keys` signed it under `origin`'s name."""
    for key in keys:
        try:
            return open_checkpoint(data, Ed25519Verifier(origin, key))[0]
        except CryptoError:
            continue
    return None


def _size(last: Witnessed | None) -> int | None:
    return None if last is None else last.size


def _cosign(checkpoint: Checkpoint, note: str, cosigner: Cosigner, now: int) -> Cosign:
    line = cosigner.cosign_at(checkpoint, now).line().rstrip("\n")
    return Cosign(checkpoint, note, line, Witnessed(checkpoint.size, checkpoint.root_hash, note))


def response_for(result: Cosign | Refuse | Fork, *, push: CheckpointPush) -> CosignatureResponse:
    """The `CosignatureResponse` that answers `push` with `result`."""
    summary = push.summary
    if isinstance(result, Cosign):
        return CosignatureResponse(
            origin=summary.origin,
            size=summary.size,
            outcome="cosigned",
            cosignature=result.cosignature_line,
        )
    return CosignatureResponse(
        origin=summary.origin,
        size=summary.size,
        outcome="refused",
        refusal=result.reason,
        witnessed_size=result.witnessed_size,
        detail=result.detail or None,
    )


def cosigned_note(note: str, cosignature_line: str) -> str:
    """`note` (a signed note) with the cosignature line added, replacing an older one by the
    same witness key: the checkpoint as verifiers want it (c2sp.org/tlog-cosignature)."""
    signed = SignedNote.parse(note.encode("utf-8"))
    added = signed.with_signature(NoteSignature.parse_line(cosignature_line))
    return added.encode().decode("utf-8")


# -- a log's successor (issue 21) -------------------------------------------------------------


@dataclass(frozen=True)
class Succeed:
    """Record the statement; from now on `statement.new_origin` is the node's log here."""

    statement: SuccessorStatement


@dataclass(frozen=True)
class RefuseSuccession:
    reason: str  # bad_statement, unknown_log, smaller_tree, inconsistent
    detail: str


def succession(note: str, *, node_id: str, log_key: VerifyKey, current_origin: str,
               last: Witnessed | None,
               role_key: VerifyKey | None = None) -> Succeed | RefuseSuccession:
    """Decide on a successor statement of `node_id`'s log, which this witness follows as
    `current_origin`, having cosigned `last` of it. The statement must be signed by the
    node's log key (as its checkpoints: its checkpoint role key `role_key`, bound by its
    verified role statement, or its identity key `log_key`), start at the current origin,
    and name as the old log's end a tree at least as large as the one cosigned here (the
    same root at the same size): a node must not disown checkpoints its witnesses hold. The
    checkpoints cosigned of the old origin are kept; nothing more is accepted under it."""
    try:
        statement = open_statement(note, [k for k in (role_key, log_key) if k is not None])
    except SuccessionError as exc:
        return RefuseSuccession("bad_statement", str(exc)[:_MAX_DETAIL])
    if statement.node_id != node_id or statement.old_origin != current_origin:
        return RefuseSuccession("unknown_log", f"this witness follows {current_origin}")
    if last is not None:
        if statement.old_size < last.size:
            return RefuseSuccession(
                "smaller_tree", f"this witness cosigned {last.size} leaves of {current_origin}")
        if statement.old_size == last.size and statement.old_root != last.root_hash:
            return RefuseSuccession("inconsistent",
                                    f"another root for tree size {last.size}")
    return Succeed(statement)
