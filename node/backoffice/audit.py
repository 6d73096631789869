"""The chain of custody: an append-only audit log where each entry hashes the previous one.

Every action on a case (view, decrypt, edit, code, assign, refer, export, share, delete)
appends who, what, which object, when -- never content -- in the same transaction as the
action itself. Editing, deleting or reordering a row by hand breaks the chain at that row;
removing the newest rows is caught by the chain head, kept apart from the rows
(``node_meta``) and signed.

Entry hash = SHA-256("backup-audit-v1" || prev_hash || seq || at || actor || action ||
object_type || object_id || detail), integers as 8-byte big-endian, strings as 4-byte
length-prefixed UTF-8, so no two different entries share an encoding.

Who signs the head (issue 13). Each process that appends (the serving process, each CLI
command) draws a fresh Ed25519 *session key* that lives only in its memory and dies with
it. Its public half is declared in ``custody_sessions`` with a certificate by the node's
custody role key (`node.keyring`), and the head is ``seq || hash || session public key ||
signature``. A database writer without the node's keys can neither certify a session key
nor sign a head; whoever holds a powered-off copy holds no session key that signed past
heads. Against that copy, the head is anchored at a fixed cadence in the witnessed evidence
log (`node.evidence.signing.anchor_and_sign`, rows in ``custody_anchors``): the anchor
commits to (seq, hash, session public key), the witnesses cosign the log, so rewriting any
entry up to the newest anchor breaks a commitment others hold.

`AuditLog.append` fails closed (`CustodyBroken`) unless the stored head is signed by a
certified session key, names the chain's last entry, and the newest anchor still opens to
the chain: a tampered chain stops every action that would write to it until an
administrator looks (``backup-node verify-audit``), rather than being signed over.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backup_evidence.leaves import ItemType, leaf_from_digest
from crypto import merkle
from crypto.errors import FormatError, SignatureError
from crypto.keys import SigningKey, VerifyKey
from node import errors
from node.evidence import log_store
from node.evidence.errors import EvidenceError
from node.i18n import N_

if TYPE_CHECKING:  # pragma: no cover - typing only
    from node.key_certificates import Certifier

DOMAIN = b"backup-audit-v1"
HEAD_DOMAIN = b"backup-audit-head-v1"  # heads signed before issue 13, by the identity key
HEAD_DOMAIN_V2 = b"backup-audit-head-v2"
SESSION_DOMAIN = b"backup-custody-session-v1"
ANCHOR_DOMAIN = b"backup-custody-anchor-v1"
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


def head_message(seq: int, head: bytes, session_key: bytes) -> bytes:
    """What a session key signs: the head and the key itself (so that a signature cannot
    be moved to another key's declaration)."""
    return HEAD_DOMAIN_V2 + _U64.pack(seq) + head + session_key


def session_statement(session_key: bytes) -> bytes:
    """What the custody role key signs to certify a session key."""
    return SESSION_DOMAIN + session_key


def anchor_bytes(seq: int, head: bytes, session_key: bytes) -> bytes:
    """The content an evidence-log anchor commits to: 8 + 32 + 32 bytes after the domain
    (a head signed before issue 13 has an all-zero session key)."""
    return ANCHOR_DOMAIN + _U64.pack(seq) + head + session_key


class CustodyBroken(errors.NodeError):
    """The chain of custody does not verify: nothing is written to it (fail closed)."""

    message = N_("Nothing was done: the chain of custody on this server does not verify, "
                 "so no new entry can be added to it. Someone may have changed the "
                 "database. Ask your administrator to run the custody check "
                 "(backup-node verify-audit) before anyone continues.")

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason  # for the log and the CLI: sequence numbers, never content

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Head:
    seq: int
    hash: bytes
    session_key: bytes  # 32 zero bytes for a head signed before issue 13
    signature: bytes

    @property
    def legacy(self) -> bool:
        return self.session_key == bytes(32)


def stored_head(conn: sqlite3.Connection) -> Head | None:
    row = conn.execute("SELECT value FROM node_meta WHERE key = 'audit_head'").fetchone()
    if row is None:
        return None
    value = bytes(row[0])
    if len(value) == 8 + 32 + 64:
        return Head(_U64.unpack(value[:8])[0], value[8:40], bytes(32), value[40:])
    if len(value) == 8 + 32 + 32 + 64:
        return Head(_U64.unpack(value[:8])[0], value[8:40], value[40:72], value[72:])
    raise FormatError("the stored chain head has an unknown length")


@dataclass(frozen=True)
class Anchor:
    """One anchor of the chain head in the evidence log, and how to open its leaf."""

    leaf_index: int
    seq: int
    hash: bytes
    session_key: bytes
    at: int
    salt: bytes

    def leaf(self) -> bytes:
        digest = hashlib.sha256(anchor_bytes(self.seq, self.hash, self.session_key)).digest()
        return leaf_from_digest(ItemType.CUSTODY_ANCHOR, self.at, self.salt, digest).encode()


def anchors(conn: sqlite3.Connection, newest_only: bool = False) -> list[Anchor]:
    query = ("SELECT leaf_index, seq, hash, session_key, at, salt FROM custody_anchors"
             " ORDER BY leaf_index DESC LIMIT 1" if newest_only else
             "SELECT leaf_index, seq, hash, session_key, at, salt FROM custody_anchors"
             " ORDER BY leaf_index")
    rows = conn.execute(query)
    return [Anchor(int(r[0]), int(r[1]), bytes(r[2]), bytes(r[3]), int(r[4]), bytes(r[5]))
            for r in rows]


def _check_anchor(conn: sqlite3.Connection, anchor: Anchor) -> str:
    """'' when the anchor's leaf is in the evidence log and the chain still has the entry
    it committed to; else why not."""
    try:
        in_log: bytes | None = log_store.leaf_hash_at(conn, anchor.leaf_index)
    except EvidenceError:
        in_log = None
    if in_log != merkle.leaf_hash(anchor.leaf()):
        return (f"the anchor at evidence leaf {anchor.leaf_index} does not match the "
                "witnessed log")
    if anchor.seq == 0:
        return ""
    row = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (anchor.seq,)).fetchone()
    if row is None or bytes(row[0]) != anchor.hash:
        return (f"entry {anchor.seq}, anchored in the witnessed evidence log, is missing or "
                "was changed")
    return ""


def _session_certified(conn: sqlite3.Connection, custody: VerifyKey, key: bytes) -> bool:
    row = conn.execute("SELECT certificate FROM custody_sessions WHERE public_key = ?",
                       (key,)).fetchone()
    if row is None:
        return False
    try:
        custody.verify(session_statement(key), bytes(row[0]))
    except SignatureError:
        return False
    return True


def check_head(conn: sqlite3.Connection, custody: VerifyKey, legacy: VerifyKey | None,
               last: tuple[int, bytes] | None) -> str:
    """'' when the stored head is signed by a certified session key (or, before the first
    session, by `legacy`) and names `last` (the chain's last (seq, hash)); else why not."""
    try:
        head = stored_head(conn)
    except FormatError as exc:
        return str(exc)
    if head is None:
        return "" if last is None else "the signed chain head is missing"
    try:
        if head.legacy:
            if legacy is None:
                raise SignatureError()
            legacy.verify(_head_message(head.seq, head.hash), head.signature)
        else:
            VerifyKey(head.session_key).verify(
                head_message(head.seq, head.hash, head.session_key), head.signature)
    except SignatureError:
        return "the chain head's signature does not verify"
    if not head.legacy and not _session_certified(conn, custody, head.session_key):
        return "the chain head is signed by a key the node did not certify"
    if last is None or (head.seq, head.hash) != last:
        count = 0 if last is None else last[0]
        return (f"the log ends at entry {count} but its signed head is entry {head.seq}"
                ": entries were removed from the end, or the head was replaced")
    return ""


class AuditLog:
    """Appends to the chain, with this process's session key.

    `custody_key` is the node's custody role key: it certifies the session key once, here,
    and is not kept. `legacy_head_key` (the identity key's public half) accepts a head
    signed before issue 13, until this process signs the first new one. `certifier`
    (`node.key_certificates.Certifier`) travels with the chain because every change to
    who holds which key is written to it: the account functions that seal keys to people
    take both from here."""

    def __init__(self, custody_key: SigningKey, *,
                 legacy_head_key: VerifyKey | None = None,
                 certifier: Certifier | None = None) -> None:
        self._certifier = certifier
        self._custody = custody_key.verify_key
        self._legacy = legacy_head_key
        self._session = SigningKey.generate()
        self._session_public = self._session.verify_key.raw()
        self._certificate = custody_key.sign(session_statement(self._session_public))

    @property
    def certifier(self) -> Certifier:
        if self._certifier is None:
            raise RuntimeError("this chain of custody was opened without the node's keys")
        return self._certifier

    @property
    def custody_public(self) -> VerifyKey:
        return self._custody

    @property
    def session_public(self) -> bytes:
        return self._session_public

    def verify(self, conn: sqlite3.Connection) -> Verdict:
        """`verify` with this node's keys."""
        return verify(conn, self._custody, self._legacy)

    def check(self, conn: sqlite3.Connection) -> tuple[int, bytes] | None:
        """The chain's last (seq, hash) after every check `append` makes; `CustodyBroken`
        otherwise. O(1): the last entry, the head, and the newest anchor. (What this
        process itself wrote is not remembered: a write it made may have been rolled
        back with the action that made it.)"""
        row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                           ).fetchone()
        last = None if row is None else (int(row[0]), bytes(row[1]))
        reason = check_head(conn, self._custody, self._legacy, last)
        if not reason:
            for anchor in anchors(conn, newest_only=True):
                reason = _check_anchor(conn, anchor)
        if reason:
            raise CustodyBroken(reason)
        return last

    def append(self, conn: sqlite3.Connection, *, at: int, actor: str, action: str,
               object_type: str, object_id: str, detail: str = "") -> int:
        """Append one entry inside the caller's write transaction; returns its seq.
        Raises `CustodyBroken` (writing nothing) if the chain as stored does not verify."""
        last = self.check(conn)
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        h = entry_hash(prev, seq, at, actor, action, object_type, object_id, detail)
        conn.execute(
            "INSERT INTO audit_log (seq, at, actor, action, object_type, object_id, detail,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor, action, object_type, object_id, detail, prev, h))
        conn.execute("INSERT OR IGNORE INTO custody_sessions (public_key, certificate,"
                     " first_seq) VALUES (?, ?, ?)",
                     (self._session_public, self._certificate, seq))
        self._sign_head(conn, seq, h)
        return seq

    def _sign_head(self, conn: sqlite3.Connection, seq: int, h: bytes) -> None:
        signature = self._session.sign(head_message(seq, h, self._session_public))
        conn.execute("INSERT OR REPLACE INTO node_meta (key, value) VALUES ('audit_head', ?)",
                     (_U64.pack(seq) + h + self._session_public + signature,))

    def resign(self, conn: sqlite3.Connection) -> None:
        """Sign the chain as it now is (after an open rewrite, `node.backoffice.
        audit_rewrite`, which checked the chain before changing it)."""
        row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
                           ).fetchone()
        if row is not None:
            conn.execute("INSERT OR IGNORE INTO custody_sessions (public_key, certificate,"
                         " first_seq) VALUES (?, ?, ?)",
                         (self._session_public, self._certificate, int(row[0])))
            self._sign_head(conn, int(row[0]), bytes(row[1]))

    def head_to_anchor(self, conn: sqlite3.Connection) -> tuple[int, bytes, bytes]:
        """(seq, hash, session key) of the checked head, for the next anchor; an empty
        chain anchors (0, zeros, zeros) so that the cadence never depends on activity."""
        last = self.check(conn)
        if last is None:
            return 0, GENESIS, bytes(32)
        head = stored_head(conn)
        assert head is not None  # check() passed with a non-empty chain
        return head.seq, head.hash, head.session_key


def record_anchor(conn: sqlite3.Connection, leaf_index: int, seq: int, head: bytes,
                  session_key: bytes, at: int, salt: bytes) -> None:
    conn.execute("INSERT INTO custody_anchors (leaf_index, seq, hash, session_key, at, salt)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (leaf_index, seq, head, session_key, at, salt))


def entries(conn: sqlite3.Connection, object_id: str | None = None) -> Iterator[Entry]:
    if object_id is None:
        rows = conn.execute("SELECT * FROM audit_log ORDER BY seq")
    else:
        rows = conn.execute("SELECT * FROM audit_log WHERE object_id = ? ORDER BY seq",
                            (object_id,))
    for r in rows:
        yield Entry(r["seq"], r["at"], r["actor"], r["action"], r["object_type"],
                    r["object_id"], r["detail"], r["prev_hash"], r["hash"])


def verify(conn: sqlite3.Connection, custody: VerifyKey,
           legacy: VerifyKey | None = None) -> Verdict:
    """Check the whole chain, its signed head and every anchor in the evidence log; name
    the first broken link. `custody` is the custody role key that certifies session keys;
    `legacy` the identity key, for a head signed before issue 13."""
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
    for anchor in anchors(conn):
        reason = _check_anchor(conn, anchor)
        if reason:
            return Verdict(False, count, anchor.seq or None, reason)
        if anchor.seq > count:
            return Verdict(False, count, count + 1,
                           f"entry {anchor.seq} is anchored in the witnessed evidence log "
                           f"but the log ends at entry {count}")
    reason = check_head(conn, custody, legacy, (count, prev) if count else None)
    if reason:
        head = stored_head(conn) if "unknown length" not in reason else None
        first = None
        if head is not None and "removed from the end" in reason:
            first = min(head.seq, count + 1)
        return Verdict(False, count, first, reason)
    return Verdict(True, count)


def anchored_through(conn: sqlite3.Connection) -> int:
    """The last entry covered by an anchor in the evidence log (0 if none)."""
    row = conn.execute("SELECT MAX(seq) FROM custody_anchors").fetchone()
    return int(row[0] or 0)
