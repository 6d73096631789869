"""The receipt index: how the node finds a report by its receipt number without storing it.

A receipt number has 10 digits: an unkeyed hash of it is reversed by trying all 10^9 values
(minutes on a laptop), so a copy of the database alone would give every receipt number
back. The index is therefore keyed: HMAC-SHA256 under a 32-byte key that lives in its own
file, ``keys/receipt-index.key`` (0600), never in the database, because the node needs it
unattended (every receipt check). Its input is the former unkeyed hash
(`crypto.receipt.receipt_index`), so that rows written before the key existed are re-keyed
in place, without knowing the numbers: index = HMAC(key, BLAKE2b(number)).

The database keeps a check value of the key (an HMAC of a fixed label, which reveals
nothing of the key), so that a node started with a missing or different key file refuses
to start instead of silently failing every receipt.

What this protects: a copy of the database without the key file (a backup, an exported
file, a disk image of the database alone) no longer yields receipt numbers. What it does
not: whoever holds the key file as well (the whole data directory of a running node) can
still try the 10^9 numbers; the secret (21 digits, Argon2id) still stands between them and
any report's content.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from pathlib import Path

from crypto import receipt
from runtime.files import write_private_file

KEY_BYTES = 32
_CHECK_LABEL = b"backup-receipt-index-key-check-v1"
_META_KEY = "receipt_index_key_check"


class ReceiptIndexKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a receipt index key has 32 bytes")
        self._key = key

    def index(self, code: str) -> bytes:
        """What the database stores for the receipt number `code` (normalised digits)."""
        return self._rekey(receipt.receipt_index(code))

    def submission_index(self, source: str, uuid: str) -> bytes:
        """What the database stores for a submission imported from a field tool (issue 19):
        a keyed hash, since a form's instance ID may be written on paper or kept elsewhere
        beside the person's name."""
        return self._rekey(hashlib.blake2b(f"{source}\0{uuid}".encode(), digest_size=32,
                                           person=b"backup-import").digest())

    def _rekey(self, unkeyed: bytes) -> bytes:
        return hmac.new(self._key, unkeyed, hashlib.sha256).digest()

    def check_value(self) -> bytes:
        return hmac.new(self._key, _CHECK_LABEL, hashlib.sha256).digest()

    def tag(self, label: bytes, data: bytes) -> bytes:
        """A keyed hash of `data` for another use of this unattended key (issue 19: the
        SMS status PIN), separated from the index by `label`."""
        return hmac.new(self._key, b"backup-tag-v1\0" + label + b"\0" + data,
                        hashlib.sha256).digest()


def create(path: Path) -> ReceiptIndexKey:
    key = secrets.token_bytes(KEY_BYTES)
    write_private_file(path, key)
    return ReceiptIndexKey(key)


def record_check(conn: sqlite3.Connection, key: ReceiptIndexKey) -> None:
    conn.execute("INSERT OR REPLACE INTO node_meta (key, value) VALUES (?, ?)",
                 (_META_KEY, key.check_value()))


def load(path: Path, conn: sqlite3.Connection) -> ReceiptIndexKey:
    """The node's receipt index key, on a database whose index is keyed (`upgrade`)."""
    row = conn.execute("SELECT value FROM node_meta WHERE key = ?", (_META_KEY,)).fetchone()
    if not path.exists() or row is None:
        raise RuntimeError(f"{path.name} is missing: without it no receipt opens its report; "
                           "restore it from the node's backup")
    key = ReceiptIndexKey(path.read_bytes())
    if not hmac.compare_digest(key.check_value(), bytes(row[0])):
        raise RuntimeError(f"{path.name} does not match this node's database")
    return key


def upgrade(path: Path, conn: sqlite3.Connection) -> bool:
    """Key the index of a database written before the key existed, inside the caller's
    write transaction; True if it did. The key file is written (and fsync'd) before the
    transaction commits, and reused if it is already there: a crash in between leaves a
    database still unkeyed and the key it will be keyed with."""
    if conn.execute("SELECT 1 FROM node_meta WHERE key = ?", (_META_KEY,)).fetchone():
        return False
    key = ReceiptIndexKey(path.read_bytes()) if path.exists() else create(path)
    rows = conn.execute("SELECT id, receipt_index FROM reports").fetchall()
    for report_id, unkeyed in rows:
        conn.execute("UPDATE reports SET receipt_index = ? WHERE id = ?",
                     (key._rekey(bytes(unkeyed)), report_id))
    record_check(conn, key)
    return True
