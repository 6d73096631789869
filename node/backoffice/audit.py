"""The chain of custody: an append-only audit log where each entry hashes the previous one.

Every action on a case (view, decrypt, edit, code, assign, refer, export, share, delete)
appends who, what, which object, when -- never content -- in the same transaction as the
action itself. Editing, deleting or reordering a row by hand breaks the chain at that row;
removing the newest rows is caught by the chain head, which the node signs with its
identity key and keeps apart from the rows (``node_meta``).

Entry hash = SHA-256("backup-audit-v1" || prev_hash || seq || at || actor || action ||
object_type || object_id || detail), integers as 8-byte big-endian, strings as 4-byte
length-prefixed UTF-8, so no two different entries share an encoding.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from crypto.errors import SignatureError
from crypto.keys import SigningKey, VerifyKey

DOMAIN = b"backup-audit-v1"
HEAD_DOMAIN = b"backup-audit-head-v1"
GENESIS = bytes(32)
_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: int
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: str
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    first_broken: int | None = None  # seq of the first entry that does not verify
    reason: str = ""


def _lp(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _U32.pack(len(raw)) + raw


def entry_hash(prev_hash: bytes, seq: int, at: int, actor: str, action: str,
               object_type: str, object_id: str, detail: str) -> bytes:
    return hashlib.sha256(b"".join((
        DOMAIN, prev_hash, _U64.pack(seq), _U64.pack(at), _lp(actor), _lp(action),
        _lp(object_type), _lp(object_id), _lp(detail)))).digest()


def _head_message(seq: int, head: bytes) -> bytes:
    return HEAD_DOMAIN + _U64.pack(seq) + head


class AuditLog:
    def __init__(self, signer: SigningKey) -> None:
        self._signer = signer

    def append(self, conn: sqlite3.Connection, *, at: int, actor: str, action: str,
               object_type: str, object_id: str, detail: str = "") -> int:
        """Append one entry inside the caller's write transaction; returns its seq."""
        last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                            ).fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        h = entry_hash(prev, seq, at, actor, action, object_type, object_id, detail)
        conn.execute(
            "INSERT INTO audit_log (seq, at, actor, action, object_type, object_id, detail,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor, action, object_type, object_id, detail, prev, h))
        signature = self._signer.sign(_head_message(seq, h))
        conn.execute("INSERT OR REPLACE INTO node_meta (key, value) VALUES ('audit_head', ?)",
                     (_U64.pack(seq) + h + signature,))
        return seq


def entries(conn: sqlite3.Connection, object_id: str | None = None) -> Iterator[Entry]:
    if object_id is None:
        rows = conn.execute("SELECT * FROM audit_log ORDER BY seq")
    else:
        rows = conn.execute("SELECT * FROM audit_log WHERE object_id = ? ORDER BY seq",
                            (object_id,))
    for r in rows:
        yield Entry(r["seq"], r["at"], r["actor"], r["action"], r["object_type"],
                    r["object_id"], r["detail"], r["prev_hash"], r["hash"])


def verify(conn: sqlite3.Connection, identity: VerifyKey) -> Verdict:
    """Check the whole chain and its signed head; name the first broken link."""
    prev, expected_seq, count = GENESIS, 1, 0
    cursor = conn.execute(
        "SELECT seq, at, actor, action, object_type, object_id, detail, prev_hash, hash"
        " FROM audit_log ORDER BY seq")
    for seq, at, actor, action, otype, oid, detail, prev_hash, h in cursor:
        if seq != expected_seq:
            return Verdict(False, count, expected_seq,
                           f"entry {expected_seq} is missing (next is {seq})")
        if prev_hash != prev:
            return Verdict(False, count, seq, f"entry {seq} does not follow entry {seq - 1}")
        if entry_hash(prev, seq, at, actor, action, otype, oid, detail) != h:
            return Verdict(False, count, seq, f"entry {seq} was changed after it was written")
        prev, expected_seq, count = h, seq + 1, count + 1
    row = conn.execute("SELECT value FROM node_meta WHERE key = 'audit_head'").fetchone()
    if row is None:
        if count:
            return Verdict(False, count, None, "the signed chain head is missing")
        return Verdict(True, 0)
    value = bytes(row[0])
    head_seq, head_hash, signature = (_U64.unpack(value[:8])[0], value[8:40], value[40:])
    try:
        identity.verify(_head_message(head_seq, head_hash), signature)
    except SignatureError:
        return Verdict(False, count, None, "the chain head's signature does not verify")
    if head_seq != count or head_hash != prev:
        return Verdict(False, count, min(head_seq, count + 1),
                       f"the log ends at entry {count} but its signed head is entry {head_seq}"
                       ": entries were removed from the end")
    return Verdict(True, count)
