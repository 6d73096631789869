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
(deletion notes, incident codings, statistics releases, the adapted model) hold the key
they were given when the process started: restart the serving process after a rotation
made by the CLI (the CLI says so). A rotation made in the serving process itself (an
admin, from the accounts page, after disabling someone: `rotate_after_departure`) moves
those too: the keys they hold are `LiveBoxKey`s, which follow the rotation in the same
write transaction, so nothing is sealed to the old key once it commits.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from crypto.keys import BoxPublicKey, BoxSecretKey
from crypto.recovery import RecoveryKey
from node import accounts, errors
from node.backoffice.audit import AuditLog
from node.i18n import N_
from node.key_certificates import ANALYSIS_SUBJECT, INTAKE_SUBJECT, Certifier, KeyNotAuthentic
from node.storage.database import Database

RECOVERY_HOLDER = "recovery"
ROTATABLE = (accounts.INTAKE_KEY, accounts.ANALYSIS_KEY, RECOVERY_HOLDER)
# What a staff member can hold, and so what to rotate after they leave.
STAFF_HELD = (accounts.INTAKE_KEY, accounts.ANALYSIS_KEY)


class LiveBoxKey(BoxPublicKey):
    """The node's intake or analysis public key as the serving process holds it: one
    object that every service captured at start, and that a rotation made in this
    process moves to the new key (`follow`), so that none of them goes on sealing to a
    key whose secret half is gone (and which a departed person may still hold)."""

    __slots__ = ()

    def follow(self, new: BoxPublicKey) -> None:
        BoxPublicKey.__init__(self, new.raw())


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
                    now: int, *, live: BoxPublicKey | None = None,
                    reason: str = "") -> Rotated:
    """Replace the intake or analysis key (`old` is its current secret key, opened by the
    caller with a passphrase or the recovery key). `live`: the serving process's own copy
    of the public key (a `LiveBoxKey`), moved to the new key before the commit."""
    new = BoxSecretKey.generate()
    moved = isinstance(live, LiveBoxKey)
    try:
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
                         object_id=key_name,
                         detail=f"resealed={resealed} holders={len(holders)}"
                                + (f" {reason}" if reason else ""))
            if isinstance(live, LiveBoxKey):
                # Inside the write transaction: sealing sites that write wait for it.
                live.follow(new.public_key)
    except BaseException:
        if moved:  # nothing was committed: back to the key that is still certified
            assert isinstance(live, LiveBoxKey)
            live.follow(old.public_key)
        raise
    db.vacuum()  # the old wraps leave no copy in free pages or the write-ahead log
    return Rotated(key_name, resealed, holders)


def held_by(conn: sqlite3.Connection, staff_id: str) -> list[str]:
    """The node keys sealed to an account now, of those `rotate_after_departure` rotates
    (read before disabling it: disabling drops the wraps, not the copy they may keep)."""
    held = {r[0] for r in conn.execute("SELECT key_name FROM key_wraps WHERE holder = ?",
                                       (accounts.staff_holder(staff_id),))}
    return [k for k in STAFF_HELD if k in held]


def certified_recovery_key(conn: sqlite3.Connection, certifier: Certifier) -> BoxPublicKey:
    """The recovery public key, as the identity key certified it; `KeyNotAuthentic` if
    its certificate does not verify (a rotation then seals to nothing)."""
    row = conn.execute("SELECT public_key FROM key_certificates WHERE subject = ?",
                       (RECOVERY_HOLDER,)).fetchone()
    if row is None:
        raise KeyNotAuthentic()
    key = BoxPublicKey(bytes(row[0]))
    certifier.check(conn, RECOVERY_HOLDER, key)
    return key


def rotate_after_departure(db: Database, audit: AuditLog, certifier: Certifier,
                           staff: accounts.UnlockedStaff, departed_id: str,
                           key_names: list[str], live: dict[str, BoxPublicKey],
                           now: int) -> list[Rotated]:
    """Rotate the node keys a disabled account held (`key_names`, from `STAFF_HELD`),
    with the secret keys `staff` (the admin, signed in) holds: `Forbidden` for a key they
    do not hold, before anything is changed. One custody entry per key, naming the
    departed account."""
    names = [n for n in STAFF_HELD if n in key_names]
    if not names:
        raise errors.UnknownChoice(field="keys")
    missing = [n for n in names if n not in staff.node_keys]
    if missing:
        raise errors.Forbidden(N_("You do not hold every one of these keys, so you cannot "
                                  "replace them here. An administrator who also holds them "
                                  "can, from this page, or anyone with the recovery key, with the "
                                  "command backup-node rotate-key."))
    row = db.read().execute("SELECT disabled FROM staff WHERE id = ?",
                            (departed_id,)).fetchone()
    if row is None or not row[0]:
        raise errors.NotFound()
    recovery_public = certified_recovery_key(db.read(), certifier)
    return [rotate_node_key(db, audit, certifier, name, staff.node_keys[name],
                            recovery_public, staff.member.id, now, live=live.get(name),
                            reason=f"after disabling {departed_id}")
            for name in names]


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
