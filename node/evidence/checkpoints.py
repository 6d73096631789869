"""Signed checkpoints of the evidence log, kept in the ``checkpoints`` table (migration 3).

A checkpoint is the C2SP ``tlog-checkpoint`` note ``<origin>\\n<size>\\n<base64 root>\\n``
signed as a C2SP signed note with Ed25519 (`crypto.checkpoint`), so that witnesses and
existing tooling (golang.org/x/mod/sumdb/note, transparency-dev) read it as it is.

Origin: ``backup.node/<node id>/evidence``. C2SP tlog-checkpoint asks for a schema-less
URL-like line, without spaces or "+", that identifies the log uniquely; the node id is 128
random bits (`node.keyring`), so no two nodes share an origin, and the ``/evidence`` suffix
leaves room for other logs a node may one day publish under the same key. It names no
host: nodes run behind onion services and move, and the origin must never change. The
signing key's name is the origin ("SHOULD match", tlog-checkpoint, "Signatures").

A checkpoint is only signed over a tree that consistently extends the last one signed
(checked here in O(log n) before signing): a node that signed two inconsistent trees would
be caught by its witnesses as if it had rewritten history, so a corrupted store must stop
the signing, loudly, rather than be signed over.

RFC 3161 timestamps (optional, later): `checkpoints_to_timestamp` lists checkpoints without
a token, a client asks the configured timestamping authority for a token over
`timestamp_imprint` *outside* any database transaction (a network call must never hold the
writer), and `attach_timestamp` stores it. The imprint covers the checkpoint text, the part
every signature and cosignature signs, so one token serves every copy of the note.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from crypto import merkle
from crypto.checkpoint import (
    Checkpoint,
    Ed25519Verifier,
    NoteSigner,
    SignedNote,
    sign_checkpoint,
)
from crypto.errors import ProofError
from crypto.keys import SigningKey, VerifyKey
from node.evidence import log_store, succession
from node.evidence.errors import EvidenceError, LogCorrupted, NotInTransaction, OutOfRange

ORIGIN_PREFIX = "backup.node/"
ORIGIN_SUFFIX = "/evidence"
_NODE_ID = re.compile(r"[0-9a-z][0-9a-z_-]{0,63}", re.ASCII)
_MAX_TIME = 2**63 - 1


def log_origin(node_id: str) -> str:
    """``backup.node/<node id>/evidence``: this node's log, for checkpoints and key names."""
    if not isinstance(node_id, str) or not _NODE_ID.fullmatch(node_id):
        raise EvidenceError("a node id is 1 to 64 lowercase letters, digits, '-' or '_'")
    return f"{ORIGIN_PREFIX}{node_id}{ORIGIN_SUFFIX}"


def log_signer(node_id: str, key: SigningKey) -> NoteSigner:
    """The note signer of this node's first log: its key, named after the origin (after a
    log succession, `succession.current_signer` names the current one)."""
    return NoteSigner(log_origin(node_id), key)


def log_verifier(node_id: str, public_key: VerifyKey) -> Ed25519Verifier:
    """What a witness or a court needs to check this node's checkpoints
    (``.vkey()`` gives the ``<name>+<key id>+<key>`` text form)."""
    return Ed25519Verifier(log_origin(node_id), public_key)


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as the node signed it, and when."""

    checkpoint: Checkpoint
    note: bytes
    """The signed note, exactly as signed (C2SP signed-note bytes)."""
    created_at: int
    timestamp_token: bytes | None = None
    """An RFC 3161 TimeStampToken (DER) over `timestamp_imprint`, if one was attached."""

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash

    @classmethod
    def _from_row(cls, row: Any) -> StoredCheckpoint:
        size, note, created_at, token = row
        checkpoint = Checkpoint.parse(SignedNote.parse(bytes(note)).text)
        if checkpoint.size != size:
            raise LogCorrupted(f"the checkpoint stored as size {size} says {checkpoint.size}")
        return cls(checkpoint, bytes(note), int(created_at),
                   None if token is None else bytes(token))


def maybe_checkpoint(conn: sqlite3.Connection, signer: NoteSigner,
                     now: int) -> StoredCheckpoint | None:
    """Sign and store a checkpoint of the whole log if it grew since the last one; return
    it, or None when there is nothing new to sign (an empty log, or no append since).

    Runs inside the caller's write transaction, so the size and root it signs are the ones
    committed with it. Signs nothing (None) while a restored node's signing is held
    (`succession.hold`); signs under a successor origin only if a recorded statement leads
    there from the last checkpoint's origin. ``signer.name`` is the origin (`log_signer`);
    ``now`` is POSIX seconds. Raises `LogCorrupted`, signing nothing, if the log no longer
    extends the last checkpoint.
    """
    if not conn.in_transaction:
        raise NotInTransaction("sign checkpoints inside a write transaction")
    if type(now) is not int or not 0 <= now <= _MAX_TIME:
        raise OutOfRange("a checkpoint time is whole POSIX seconds")
    if succession.hold(conn) is not None:
        return None  # restored: nothing is signed until the witnesses have answered
    view = log_store.LogView(conn)
    last = latest_checkpoint(conn)
    if last is not None:
        if last.checkpoint.origin != signer.name and not succession.succeeds(
                conn, last.checkpoint.origin, signer.name):
            raise EvidenceError(f"this log's checkpoints are signed as "
                                f"{last.checkpoint.origin}, not {signer.name}")
        if view.size < last.size:
            raise LogCorrupted(f"the log has {view.size} leaves; it signed {last.size}")
    if view.size == 0 or (last is not None and view.size == last.size):
        return None
    root = merkle.root_hash(view)
    if last is not None:
        _check_extends(view, last, root)
    checkpoint = Checkpoint(signer.name, view.size, root)
    note = sign_checkpoint(checkpoint, signer).encode()
    # Stored to the hour only: with the log's sizes, exact signing times would tell a
    # seized database when reports arrived more precisely than anything else on the node.
    hour_start = now - now % 3600
    conn.execute("INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)",
                 (view.size, note, hour_start))
    return StoredCheckpoint(checkpoint, note, hour_start)


def _check_extends(view: log_store.LogView, last: StoredCheckpoint, root: bytes) -> None:
    """The store's tree is an append-only extension of the last signed one (RFC 9162
    §2.1.4.2), proven from the stored hashes as any witness would check it."""
    try:
        path = merkle.consistency_proof(view, last.size, view.size)
        merkle.verify_consistency(size1=last.size, size2=view.size, root1=last.root_hash,
                                  root2=root, path=path)
    except ProofError:
        raise LogCorrupted(f"the log no longer extends its checkpoint of {last.size} "
                           "leaves; refusing to sign") from None


def latest_checkpoint(conn: sqlite3.Connection) -> StoredCheckpoint | None:
    """The checkpoint of the largest tree signed so far, or None before the first."""
    row = conn.execute("SELECT size, note, created_at, timestamp_token FROM checkpoints "
                       "ORDER BY size DESC LIMIT 1").fetchone()
    return None if row is None else StoredCheckpoint._from_row(row)


def checkpoint_at(conn: sqlite3.Connection, size: int) -> StoredCheckpoint | None:
    """The checkpoint signed at exactly ``size`` leaves, if there is one."""
    row = conn.execute("SELECT size, note, created_at, timestamp_token FROM checkpoints "
                       "WHERE size = ?", (size,)).fetchone()
    return None if row is None else StoredCheckpoint._from_row(row)


def covering(conn: sqlite3.Connection, size: int) -> list[tuple[int, bool]]:
    """(size, has an RFC 3161 token) of every checkpoint of at least ``size`` leaves (those
    whose tree holds the first ``size`` leaves), largest first."""
    rows = conn.execute("SELECT size, timestamp_token IS NOT NULL FROM checkpoints "
                        "WHERE size >= ? ORDER BY size DESC", (size,)).fetchall()
    return [(int(r[0]), bool(r[1])) for r in rows]


# -- RFC 3161 hook ---------------------------------------------------------------------------


def timestamp_imprint(stored: StoredCheckpoint) -> bytes:
    """The SHA-256 ``messageImprint`` to ask a timestamping authority for (RFC 3161 §2.4.1):
    over the checkpoint text, which every signature of the note covers."""
    return hashlib.sha256(stored.checkpoint.text().encode("utf-8")).digest()


def checkpoints_to_timestamp(conn: sqlite3.Connection, limit: int = 10
                             ) -> list[StoredCheckpoint]:
    """The newest checkpoints that have no timestamp token yet, newest first."""
    rows = conn.execute("SELECT size, note, created_at, timestamp_token FROM checkpoints "
                        "WHERE timestamp_token IS NULL ORDER BY size DESC LIMIT ?",
                        (limit,)).fetchall()
    return [StoredCheckpoint._from_row(r) for r in rows]


def attach_timestamp(conn: sqlite3.Connection, size: int, token: bytes) -> None:
    """Store an RFC 3161 token for the checkpoint of ``size``. Checking the token (its
    imprint, the authority's certificate) is the caller's job, before calling this."""
    if not isinstance(token, bytes) or not token:
        raise EvidenceError("a timestamp token is non-empty DER bytes")
    cur = conn.execute("UPDATE checkpoints SET timestamp_token = ? WHERE size = ?",
                       (token, size))
    if cur.rowcount != 1:
        raise OutOfRange(f"no checkpoint of {size} leaves")
