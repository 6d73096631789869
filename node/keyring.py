"""Creating a node's keys at init, and reading the public ones at start.

* identity: Ed25519, signs everything the node sends (checkpoints, federation messages).
  Kept in ``DIR/keys/identity.key`` (0600) because the node signs unattended.
* intake: X25519. New reports are sealed to its public half, which any process may hold;
  its secret half exists only sealed to triage staff and to the recovery key.
* recovery: an X25519 key derived from a seed printed once at init (`crypto.recovery`).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from crypto import passphrase as pw
from crypto.keys import BoxPublicKey, BoxSecretKey, SigningKey, VerifyKey
from crypto.recovery import RecoveryKey
from node import accounts
from node.datadir import DataDir, write_private_file
from node.intake import receipt_index
from node.intake.receipt_index import ReceiptIndexKey
from node.storage.database import Database

RECOVERY_HOLDER = "recovery"


@dataclass(frozen=True)
class NodeKeys:
    """What a running node holds without anyone signing in."""

    node_id: str
    identity: SigningKey
    intake_public: BoxPublicKey
    analysis_public: BoxPublicKey
    receipt_index: ReceiptIndexKey

    @property
    def identity_public(self) -> VerifyKey:
        return self.identity.verify_key


@dataclass(frozen=True)
class InitResult:
    node_id: str
    recovery_key: str  # printed once, never stored


def initialise(datadir: DataDir, db: Database, admin_username: str, admin_passphrase: str,
               staff_params: pw.KdfParams, hour: int) -> InitResult:
    accounts.check_passphrase(admin_passphrase)
    identity = SigningKey.generate()
    intake = BoxSecretKey.generate()
    analysis = BoxSecretKey.generate()
    recovery = RecoveryKey.generate()
    node_id = secrets.token_hex(16)
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM node_meta WHERE key = 'node_id'").fetchone():
            raise FileExistsError(f"{datadir.root} already holds a node")
        _put(conn, "node_id", node_id.encode())
        # Written before the database commits; a crash in between leaves a directory that
        # is not a node (`is_initialised`) and a key file that the next init replaces.
        index_key = receipt_index.create(datadir.receipt_index_key)
        _put(conn, "identity_public_key", identity.verify_key.raw())
        _put(conn, "intake_public_key", intake.public_key.raw())
        _put(conn, "analysis_public_key", analysis.public_key.raw())
        _put(conn, "created_hour", str(hour).encode())
        receipt_index.record_check(conn, index_key)
        member, _ = accounts.create(conn, admin_username, admin_passphrase,
                                    {"admin", "coordinator"}, staff_params, hour)
        for name, key in ((accounts.INTAKE_KEY, intake), (accounts.ANALYSIS_KEY, analysis)):
            accounts.grant_key(conn, name, key, accounts.staff_holder(member.id),
                               member.public_key)
            accounts.grant_key(conn, name, key, RECOVERY_HOLDER, recovery.public_key)
    # The key file is written after the database commit; `is_initialised` needs both.
    write_private_file(datadir.identity_key, identity.seed())
    return InitResult(node_id, recovery.text())


def _put(conn: sqlite3.Connection, key: str, value: bytes) -> None:
    conn.execute("INSERT INTO node_meta (key, value) VALUES (?, ?)", (key, value))


def load(datadir: DataDir, db: Database) -> NodeKeys:
    with db.write() as conn:
        keyed = receipt_index.upgrade(datadir.receipt_index_key, conn)
    if keyed:
        db.vacuum()  # no unkeyed index value left in free pages or the write-ahead log
    conn = db.read()
    meta = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM node_meta")}
    identity = SigningKey(datadir.identity_key.read_bytes())
    if identity.verify_key.raw() != meta["identity_public_key"]:
        raise RuntimeError("keys/identity.key does not match this node's database")
    return NodeKeys(meta["node_id"].decode(), identity, BoxPublicKey(meta["intake_public_key"]),
                    BoxPublicKey(meta["analysis_public_key"]),
                    receipt_index.load(datadir.receipt_index_key, conn))


def open_with_recovery(conn: sqlite3.Connection, recovery_text: str,
                       key_name: str = accounts.INTAKE_KEY) -> BoxSecretKey:
    """A node key (the intake key by default), opened with the recovery key's printed
    text; `FormatError` for a mistyped key, `DecryptionError` for another node's."""
    recovery = RecoveryKey.parse(recovery_text)
    row = conn.execute("SELECT sealed FROM key_wraps WHERE key_name = ? AND holder = ?",
                       (key_name, RECOVERY_HOLDER)).fetchone()
    return recovery.open_box_key(row["sealed"])
