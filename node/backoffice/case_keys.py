"""Generations of a case's key, rotated after a person leaves the case (issue 13).

A case's key is its report's data key (generation 0): it encrypts the report, its files and
all case work. Someone unassigned from a case, or whose account was disabled, may have
kept a copy of it; a rotation draws generation ``g + 1``, and from then on everything
written on the case -- notes, messages both ways, tasks, referrals, codings' links, files,
expert shares, identifiers -- is sealed under it, so the departed person's copy opens
nothing new. Nothing is re-encrypted: what is older they could already read.

Where the generations are (table `case_key_generations`, migration 30):

- ``reports.sealed_key`` is the newest generation sealed to the intake key and
  ``reports.key_generation`` its number (an intake-key rotation reseals it as before);
- each holder's ``case_key_wraps.sealed`` is the newest generation sealed to their box key
  (``case_key_wraps.generation``), resealed to every remaining holder at each rotation;
- ``case_key_generations.previous_wrap`` is generation ``g - 1`` encrypted under ``g``
  (AAD: the report and the generation), so whoever holds the newest opens every older one
  (`expand`), and whoever holds an older one opens nothing newer;
- the reporter: the receipt secret's Argon2id output wraps generation 0
  (``reports.reporter_wrap``) and also derives an X25519 key
  (`crypto.passphrase.open_data_key_with_box`); its public half, certified by the node's
  identity key like every stored public key (subject ``reporter:<report id>``), is stored
  at submission -- or at the reporter's next visit for reports made before -- and the
  newest generation is sealed to it (``reports.reporter_sealed``) at each rotation, or,
  when the reporter's key became known only after a rotation, as soon as staff next write
  to them (`share_with_reporter`). Until then the reporter reads and writes under the
  generations they hold.

A blob says which generation opens it by its key commitment (`crypto.aead.opening_key`,
`crypto.filestream`), so no column per stored blob is needed.
"""

from __future__ import annotations

import sqlite3

from crypto.errors import DecryptionError
from crypto.keys import BoxPublicKey, BoxSecretKey, CaseKey, DataKey
from node import accounts
from node.key_certificates import INTAKE_SUBJECT, Certifier, KeyNotAuthentic


def reporter_subject(report_id: str) -> str:
    """The certificate subject of a reporter's receipt-derived public key."""
    return f"reporter:{report_id}"


def previous_context(report_id: str, generation: int) -> bytes:
    """The associated data of generation ``generation - 1`` wrapped under ``generation``."""
    return f"case-key:{report_id}:{generation - 1}<{generation}".encode()


def expand(conn: sqlite3.Connection, report_id: str, newest: DataKey,
           generation: int) -> CaseKey:
    """The case key with every generation up to `newest` (generation `generation`), each
    opened from the one above it; `DecryptionError` if one is missing or altered."""
    keys = [newest]
    if generation > 0:
        rows = conn.execute(
            "SELECT generation, previous_wrap FROM case_key_generations"
            " WHERE report_id = ? AND generation <= ? ORDER BY generation DESC",
            (report_id, generation)).fetchall()
        expected = generation
        for g, wrap in rows:
            if g != expected:
                raise DecryptionError()
            keys.append(keys[-1].open_data_key(wrap, previous_context(report_id, g)))
            expected -= 1
        if expected != 0:
            raise DecryptionError()
    return CaseKey(list(reversed(keys)))


def newest_generation(conn: sqlite3.Connection, report_id: str) -> int:
    row = conn.execute("SELECT key_generation FROM reports WHERE id = ?",
                       (report_id,)).fetchone()
    return 0 if row is None else int(row[0])


# ------------------------------------------------------------------ the reporter


def record_reporter_key(conn: sqlite3.Connection, certifier: Certifier, report_id: str,
                        public: BoxPublicKey) -> None:
    """Store and certify the reporter's receipt-derived public key, inside the caller's
    write transaction (at submission, or at the first visit after the upgrade)."""
    conn.execute("UPDATE reports SET reporter_public = ? WHERE id = ?",
                 (public.raw(), report_id))
    certifier.certify(conn, reporter_subject(report_id), public)


def for_reporter(conn: sqlite3.Connection, report_id: str, first: DataKey,
                 box: BoxSecretKey) -> CaseKey:
    """The generations the reporter holds: generation 0 from their receipt (`first`), and,
    once the newest was sealed to their key, every one. A newest generation whose chain
    does not lead back to `first` (sealed by someone who can write the database, since
    anyone can seal to a public key) is ignored."""
    row = conn.execute("SELECT key_generation, reporter_sealed FROM reports WHERE id = ?",
                       (report_id,)).fetchone()
    if row is None or not row[0] or row[1] is None:
        return CaseKey([first])
    try:
        sealed_generation, newest = box.open_generation(bytes(row[1]))
        key = expand(conn, report_id, newest, sealed_generation)
    except DecryptionError:
        return CaseKey([first])
    if key.first() != first:
        return CaseKey([first])
    return key


def share_with_reporter(conn: sqlite3.Connection, certifier: Certifier, report_id: str,
                        key: CaseKey) -> bool:
    """Seal `key`'s newest generation to the reporter's certified public key, inside the
    caller's write transaction, if they do not hold it yet. False when the reporter's key
    is not known yet (or not authentic: nothing is sealed to it)."""
    row = conn.execute(
        "SELECT reporter_public, reporter_sealed, key_generation FROM reports WHERE id = ?",
        (report_id,)).fetchone()
    if row is None or row[0] is None or key.generation != row[2]:
        return False
    if key.generation == 0:
        return True  # generation 0 is the one their receipt wraps
    public = BoxPublicKey(bytes(row[0]))
    if not certifier.is_authentic(conn, reporter_subject(report_id), public):
        return False
    conn.execute("UPDATE reports SET reporter_sealed = ? WHERE id = ?",
                 (public.seal_generation(key.generation, key.newest()), report_id))
    return True


def reporter_behind(conn: sqlite3.Connection, report_id: str) -> bool:
    """The case was rotated and the reporter's key is known, but the newest generation was
    not sealed to it yet."""
    row = conn.execute(
        "SELECT key_generation, reporter_public, reporter_sealed FROM reports WHERE id = ?",
        (report_id,)).fetchone()
    return row is not None and row[0] > 0 and row[1] is not None and row[2] is None


# ------------------------------------------------------------------ rotating


def rotate(conn: sqlite3.Connection, certifier: Certifier, report_id: str, key: CaseKey,
           now: int) -> tuple[CaseKey, list[str]]:
    """Draw the next generation of a case's key, inside the caller's write transaction:
    wrap the newest under it, seal it to the certified intake key, to every remaining
    holder (certificate checked: `KeyNotAuthentic`) and to the reporter when their key is
    known. Returns the case key with its new generation and the holders it was sealed to."""
    current = newest_generation(conn, report_id)
    if current != key.generation:
        raise DecryptionError()  # rotated meanwhile: open the case again
    new = DataKey.generate()
    generation = current + 1
    intake_public = BoxPublicKey(bytes(conn.execute(
        "SELECT value FROM node_meta WHERE key = 'intake_public_key'").fetchone()[0]))
    certifier.check(conn, INTAKE_SUBJECT, intake_public)
    conn.execute(
        "INSERT INTO case_key_generations (report_id, generation, previous_wrap, created_at)"
        " VALUES (?, ?, ?, ?)",
        (report_id, generation,
         new.wrap_data_key(key.newest(), previous_context(report_id, generation)), now))
    holders = [str(r[0]) for r in conn.execute(
        "SELECT staff_id FROM case_key_wraps WHERE report_id = ? ORDER BY assigned_at",
        (report_id,)).fetchall()]
    for staff_id in holders:
        member = accounts.get(conn, staff_id)
        if member is None:
            raise KeyNotAuthentic()
        certifier.check(conn, accounts.staff_holder(staff_id), member.public_key)
        conn.execute("UPDATE case_key_wraps SET sealed = ?, generation = ?"
                     " WHERE report_id = ? AND staff_id = ?",
                     (member.public_key.seal_data_key(new), generation, report_id, staff_id))
    conn.execute("UPDATE reports SET sealed_key = ?, key_generation = ?, reporter_sealed = NULL"
                 " WHERE id = ?", (intake_public.seal_data_key(new), generation, report_id))
    rotated = key.with_next(new)
    share_with_reporter(conn, certifier, report_id, rotated)
    return rotated, holders


# What is due is read from the chain of custody, which says who left which case and when
# the case's key was last rotated: a rotation is offered until it is done.

def rotation_due(conn: sqlite3.Connection, report_id: str) -> bool:
    """Someone left the case (unassigned, or their account disabled) since its key was
    last rotated."""
    return conn.execute(
        "SELECT 1 FROM audit_log WHERE object_id = ?1 AND action = 'case.unassign'"
        " AND seq > COALESCE((SELECT MAX(seq) FROM audit_log WHERE object_id = ?1"
        " AND action = 'case.rotate_key'), 0) LIMIT 1", (report_id,)).fetchone() is not None


def left_unrotated(conn: sqlite3.Connection, staff_id: str) -> list[str]:
    """The cases `staff_id` left whose key was not rotated since, oldest first."""
    return [str(r[0]) for r in conn.execute(
        "SELECT a.object_id FROM audit_log a WHERE a.action = 'case.unassign'"
        " AND a.object_type = 'report' AND (a.detail = 'from ' || ?1"
        " OR substr(a.detail, 1, length(?1) + 6) = 'from ' || ?1 || ' ')"
        " AND a.object_id IN (SELECT id FROM reports)"
        " AND NOT EXISTS (SELECT 1 FROM audit_log b WHERE b.object_id = a.object_id"
        " AND b.action = 'case.rotate_key' AND b.seq > a.seq)"
        " GROUP BY a.object_id ORDER BY MIN(a.seq)", (staff_id,)).fetchall()]


def erase(conn: sqlite3.Connection, report_id: str) -> None:
    """Every generation's wrap and the reporter's key certificate (the report's own row,
    with its seals, goes with the report)."""
    conn.execute("DELETE FROM case_key_generations WHERE report_id = ?", (report_id,))
    conn.execute("DELETE FROM key_certificates WHERE subject = ?", (reporter_subject(report_id),))
