"""The backup key pair: X25519, one generation per recovery key.

The public half is certified by the identity key (`node.key_certificates`, subject
``node:backup``) like every stored public key, and archives are sealed to it; the secret half
is kept only sealed to the recovery key (``node_meta.backup_secret_sealed``), and each
archive carries that sealed copy in its signed trailer, so that an archive restores with the
recovery key alone, on a new machine, after the server is gone. When the recovery key is
rotated, the next archive makes a new pair sealed to the new recovery key (archives made
before still need the recovery key of their time).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from crypto.keys import BoxPublicKey, BoxSecretKey
from node.key_certificates import Certifier
from node.keyring import RECOVERY_HOLDER

SUBJECT = "node:backup"
_SEALED = "backup_secret_sealed"
_FOR_RECOVERY = "backup_for_recovery"


class NoRecoveryKey(RuntimeError):
    """The node's recovery public key is missing or not certified: no backup key can be
    made that the recovery material opens."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: run `backup-node rotate-key --key recovery` (with the "
                         "current recovery key) once, then back up again")


@dataclass(frozen=True)
class BackupKey:
    public: BoxPublicKey
    sealed_secret: bytes  # sealed to the recovery key


def _recovery_public(conn: sqlite3.Connection, certifier: Certifier) -> BoxPublicKey:
    row = conn.execute("SELECT public_key FROM key_certificates WHERE subject = ?",
                       (RECOVERY_HOLDER,)).fetchone()
    if row is None:
        raise NoRecoveryKey("this node has no recovery key on record")
    key = BoxPublicKey(bytes(row[0]))
    if not certifier.is_authentic(conn, RECOVERY_HOLDER, key):
        raise NoRecoveryKey("the recovery key on record is not signed by this node")
    return key


def ensure(conn: sqlite3.Connection, certifier: Certifier) -> BackupKey:
    """The current backup key, made (inside the caller's write transaction) if the node has
    none yet or its recovery key changed since."""
    recovery = _recovery_public(conn, certifier)
    meta = {r[0]: bytes(r[1]) for r in conn.execute(
        "SELECT key, value FROM node_meta WHERE key IN (?, ?)", (_SEALED, _FOR_RECOVERY))}
    row = conn.execute("SELECT public_key FROM key_certificates WHERE subject = ?",
                       (SUBJECT,)).fetchone()
    if (row is not None and meta.get(_FOR_RECOVERY) == recovery.raw() and _SEALED in meta
            and certifier.is_authentic(conn, SUBJECT, BoxPublicKey(bytes(row[0])))):
        return BackupKey(BoxPublicKey(bytes(row[0])), meta[_SEALED])
    return rotate(conn, certifier)


def ensure_if_possible(conn: sqlite3.Connection, certifier: Certifier) -> BackupKey | None:
    """`ensure`, or None for a node made before recovery keys were certified (issue 13):
    it gets a backup key once `backup-node rotate-key --key recovery` certifies one, and
    `backup-node backup` says so until then."""
    try:
        return ensure(conn, certifier)
    except NoRecoveryKey:
        return None


def rotate(conn: sqlite3.Connection, certifier: Certifier) -> BackupKey:
    """A new backup key pair sealed to the current recovery key (the old pair's sealed copy
    stays in the archives made with it)."""
    recovery = _recovery_public(conn, certifier)
    secret = BoxSecretKey.generate()
    sealed = recovery.seal_box_key(secret)
    certifier.certify(conn, SUBJECT, secret.public_key)
    conn.executemany("INSERT OR REPLACE INTO node_meta (key, value) VALUES (?, ?)",
                     [(_SEALED, sealed), (_FOR_RECOVERY, recovery.raw())])
    return BackupKey(secret.public_key, sealed)
