"""Rotating the node's box keys: intake, analysis and recovery (issue 13, item 5).

After an account is disabled, the person may still have a copy of the intake or analysis
key they once opened. Rotation makes that copy open nothing stored: a new key pair is
drawn, everything sealed to the old public key is opened with the old secret key and
sealed to the new one, the new secret key is sealed to every enabled holder of the old
one (each holder's public key checked against its certificate, `node.key_certificates`)
and to the recovery key, the new public key is certified, and the old secret key is
dropped. Everything happens in one write transaction, then the database is vacuumed so the
old wraps leave no copy in free pages or the write-ahead log.

What is sealed to which key (`SEALED_TO`): a new store that seals to a node key must be
listed here, or rotation would strand it (`tests/integration/test_key_rotation.py` checks
every listed column opens under the new key and not the old one).

Rotating the recovery key re-seals the intake and analysis keys to a new recovery key,
whose text is shown once.

A serving process seals new reports to the intake key as it is certified at that moment
(`node.intake.service`), so it follows a rotation made by the CLI; the other sealing sites
(deletion notes, incident codings, statistics releases) read the key when the process
starts: restart the serving process after a rotation (the CLI says so).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from crypto.keys import BoxPublicKey, BoxSecretKey
from crypto.recovery import RecoveryKey
from node import accounts
from node.backoffice.audit import AuditLog
from node.key_certificates import ANALYSIS_SUBJECT, INTAKE_SUBJECT, Certifier
from node.storage.database import Database

RECOVERY_HOLDER = "recovery"
ROTATABLE = (accounts.INTAKE_KEY, accounts.ANALYSIS_KEY, RECOVERY_HOLDER)


@dataclass(frozen=True)
class Sealed:
    """A column of values sealed to a node key: a data key, or a small plaintext."""

    table: str
    id_column: str
    column: str
    holds_data_key: bool


SEALED_TO: dict[str, tuple[Sealed, ...]] = {
    accounts.INTAKE_KEY: (Sealed("reports", "id", "sealed_key", True),
                          Sealed("deletions", "report_id", "note_ct", False)),
    accounts.ANALYSIS_KEY: (Sealed("incidents", "id", "sealed_key", True),
                            Sealed("statistics_releases", "id", "payload_key", True)),
}
_SUBJECT = {accounts.INTAKE_KEY: INTAKE_SUBJECT, accounts.ANALYSIS_KEY: ANALYSIS_SUBJECT}
_META = {accounts.INTAKE_KEY: "intake_public_key", accounts.ANALYSIS_KEY: "analysis_public_key"}


@dataclass(frozen=True)
class Rotated:
    key_name: str
    resealed: int
    holders: list[str]
    recovery_text: str | None = field(default=None, repr=False)  # shown once, never stored


def rotate_node_key(db: Database, audit: AuditLog, certifier: Certifier, key_name: str,
                    old: BoxSecretKey, recovery_public: BoxPublicKey, actor: str,
                    now: int) -> Rotated:
    """Replace the intake or analysis key (`old` is its current secret key, opened by the
    caller with a passphrase or the recovery key)."""
    new = BoxSecretKey.generate()
    with db.write() as conn:
        current = BoxPublicKey(conn.execute("SELECT value FROM node_meta WHERE key = ?",
                                            (_META[key_name],)).fetchone()[0])
        if current != old.public_key:
            raise ValueError(f"that is not this node's current {key_name} key")
        resealed = _reseal(conn, key_name, old, new.public_key)
        conn.execute("UPDATE node_meta SET value = ? WHERE key = ?",
                     (new.public_key.raw(), _META[key_name]))
        certifier.certify(conn, _SUBJECT[key_name], new.public_key)
        # the caller proved this is the recovery key (it opened `old`, or it is certified)
        certifier.certify(conn, RECOVERY_HOLDER, recovery_public)
        holders = _regrant(conn, certifier, key_name, new, recovery_public)
        audit.append(conn, at=now, actor=actor, action="key.rotate", object_type="node",
                     object_id=key_name, detail=f"resealed={resealed} holders={len(holders)}")
    db.vacuum()  # the old wraps leave no copy in free pages or the write-ahead log
    return Rotated(key_name, resealed, holders)


def rotate_recovery_key(db: Database, audit: AuditLog, certifier: Certifier,
                        node_keys: dict[str, BoxSecretKey], actor: str, now: int) -> Rotated:
    """Seal the node keys to a new recovery key; its text is in the result, once."""
    recovery = RecoveryKey.generate()
    with db.write() as conn:
        certifier.certify(conn, RECOVERY_HOLDER, recovery.public_key)
        for name, key in sorted(node_keys.items()):
            accounts.grant_key(conn, name, key, RECOVERY_HOLDER, recovery.public_key,
                               certifier=certifier)
        audit.append(conn, at=now, actor=actor, action="key.rotate", object_type="node",
                     object_id=RECOVERY_HOLDER, detail=f"keys={len(node_keys)}")
    db.vacuum()
    return Rotated(RECOVERY_HOLDER, len(node_keys), [RECOVERY_HOLDER], recovery.text())


def _reseal(conn: sqlite3.Connection, key_name: str, old: BoxSecretKey,
            new: BoxPublicKey) -> int:
    count = 0
    for sealed in SEALED_TO[key_name]:
        rows = conn.execute(
            f"SELECT {sealed.id_column}, {sealed.column} FROM {sealed.table}"  # noqa: S608 -- names from SEALED_TO
            f" WHERE {sealed.column} IS NOT NULL").fetchall()
        for row_id, value in rows:
            resealed = (new.seal_data_key(old.open_data_key(value)) if sealed.holds_data_key
                        else new.seal(old.open(value)))
            conn.execute(f"UPDATE {sealed.table} SET {sealed.column} = ?"  # noqa: S608
                         f" WHERE {sealed.id_column} = ?", (resealed, row_id))
            count += 1
    return count


def _regrant(conn: sqlite3.Connection, certifier: Certifier, key_name: str,
             new: BoxSecretKey, recovery_public: BoxPublicKey) -> list[str]:
    """Seal the new key to every enabled account that held the old one, and to the
    recovery key; wraps of disabled accounts are dropped."""
    holders = [r[0] for r in conn.execute(
        "SELECT holder FROM key_wraps WHERE key_name = ? AND holder != ?",
        (key_name, RECOVERY_HOLDER)).fetchall()]
    conn.execute("DELETE FROM key_wraps WHERE key_name = ?", (key_name,))
    kept = []
    for holder in holders:
        row = conn.execute("SELECT box_public_key FROM staff WHERE 'staff:' || id = ?"
                           " AND disabled = 0", (holder,)).fetchone()
        if row is None:
            continue
        accounts.grant_key(conn, key_name, new, holder, BoxPublicKey(bytes(row[0])),
                           certifier=certifier)
        kept.append(holder)
    accounts.grant_key(conn, key_name, new, RECOVERY_HOLDER, recovery_public,
                       certifier=certifier)
    return kept
