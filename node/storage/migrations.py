"""Numbered schema migrations, applied in order and recorded in ``PRAGMA user_version``.

Columns hold only what a seized, powered-off node may reveal (ARCHITECTURE.md, invariant 1):
random ids, coarse timestamps (the hour), statuses, consent flags, sizes. Everything a
reporter wrote or uploaded is in `*_ct` columns (XChaCha20-Poly1305) or encrypted blobs.
Never edit a released migration; add a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: node keys, staff, reports, reporter additions and attachments, consent history
    """
    CREATE TABLE node_meta (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;
    CREATE TABLE staff (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        roles TEXT NOT NULL,
        box_public_key BLOB NOT NULL,
        secret_key_wrap BLOB NOT NULL,
        created_hour INTEGER NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    -- a node-level secret key (e.g. the intake key) sealed to one holder's public key
    CREATE TABLE key_wraps (
        key_name TEXT NOT NULL,
        holder TEXT NOT NULL,
        sealed BLOB NOT NULL,
        PRIMARY KEY (key_name, holder)
    ) STRICT;
    CREATE TABLE reports (
        id TEXT PRIMARY KEY,
        receipt_index BLOB NOT NULL UNIQUE,
        received_hour INTEGER NOT NULL,
        updated_hour INTEGER NOT NULL,
        status TEXT NOT NULL,
        sealed_key BLOB NOT NULL,
        reporter_wrap BLOB NOT NULL,
        body_ct BLOB NOT NULL,
        consent_care INTEGER NOT NULL DEFAULT 0,
        consent_referral INTEGER NOT NULL DEFAULT 0,
        consent_legal INTEGER NOT NULL DEFAULT 0,
        consent_statistics INTEGER NOT NULL DEFAULT 0,
        consent_sharing INTEGER NOT NULL DEFAULT 0,
        consent_contact INTEGER NOT NULL DEFAULT 0,
        synthetic INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX reports_by_time ON reports (received_hour DESC);
    CREATE TABLE report_items (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('addition', 'attachment')),
        received_hour INTEGER NOT NULL,
        meta_ct BLOB NOT NULL,
        blob_name TEXT,
        stored_bytes INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX report_items_by_report ON report_items (report_id);
    CREATE TABLE consent_events (
        id INTEGER PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        at_hour INTEGER NOT NULL,
        source TEXT NOT NULL,
        care INTEGER NOT NULL,
        referral INTEGER NOT NULL,
        legal INTEGER NOT NULL,
        statistics INTEGER NOT NULL,
        sharing INTEGER NOT NULL,
        contact INTEGER NOT NULL
    ) STRICT;
    -- what remains of a deleted report: that it existed and when it was destroyed
    CREATE TABLE deletions (
        report_id TEXT PRIMARY KEY,
        received_hour INTEGER NOT NULL,
        deleted_hour INTEGER NOT NULL,
        reason TEXT NOT NULL
    ) STRICT;
    """,
    # 2: the back office -- accounts security, case work, incident coding, audit chain
    """
    ALTER TABLE staff ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE staff ADD COLUMN last_failed_at INTEGER;
    ALTER TABLE staff ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
    -- TOTP secret sealed to the person's own public key: opened after the passphrase
    ALTER TABLE staff ADD COLUMN totp_sealed BLOB;
    CREATE TABLE invitations (
        code_hash BLOB PRIMARY KEY,
        username TEXT NOT NULL,
        roles TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
    ) STRICT;
    ALTER TABLE reports ADD COLUMN retention_days INTEGER;
    ALTER TABLE reports ADD COLUMN last_activity_hour INTEGER;
    -- assignment IS the wrap: a caseworker can open a case only through this row
    CREATE TABLE case_key_wraps (
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        staff_id TEXT NOT NULL REFERENCES staff(id),
        sealed BLOB NOT NULL,
        assigned_at INTEGER NOT NULL,
        PRIMARY KEY (report_id, staff_id)
    ) STRICT;
    CREATE TABLE status_events (
        id INTEGER PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        status TEXT NOT NULL
    ) STRICT;
    CREATE TABLE case_notes (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        body_ct BLOB NOT NULL
    ) STRICT;
    CREATE TABLE case_tasks (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        due_day TEXT,
        done_at INTEGER,
        body_ct BLOB NOT NULL
    ) STRICT;
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('to_reporter', 'from_reporter')),
        actor TEXT NOT NULL,
        body_ct BLOB NOT NULL,
        read_at INTEGER
    ) STRICT;
    CREATE INDEX messages_by_report ON messages (report_id, at);
    CREATE TABLE referrals (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        body_ct BLOB NOT NULL,
        outcome_at INTEGER
    ) STRICT;
    -- an incident: coded acts, possibly described by several reports
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        sealed_key BLOB NOT NULL,
        coding_ct BLOB NOT NULL
    ) STRICT;
    CREATE TABLE incident_links (
        incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        wrapped_key BLOB NOT NULL,
        PRIMARY KEY (incident_id, report_id)
    ) STRICT;
    CREATE INDEX incident_links_by_report ON incident_links (report_id);
    -- the chain of custody: every action on a case, each entry hashing the previous one
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        object_type TEXT NOT NULL,
        object_id TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_object ON audit_log (object_id);
    """,
    # 3: the evidence log (issue 4, node/evidence/): an RFC 9162 Merkle tree of salted
    # commitments, hashes only, append-only; and the checkpoints the node signed over it
    """
    CREATE TABLE merkle_leaves (
        idx INTEGER PRIMARY KEY,
        leaf_hash BLOB NOT NULL UNIQUE CHECK (length(leaf_hash) = 32)
    ) STRICT;
    -- the hash of leaves [idx << level, (idx + 1) << level), once all of them are in
    CREATE TABLE merkle_nodes (
        level INTEGER NOT NULL CHECK (level >= 1),
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
    ) STRICT, WITHOUT ROWID;
    -- a C2SP signed note; timestamp_token: an RFC 3161 token over it, added later if any
    CREATE TABLE checkpoints (
        size INTEGER PRIMARY KEY,
        note BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        timestamp_token BLOB
    ) STRICT;
    CREATE TRIGGER merkle_leaves_append_only BEFORE UPDATE ON merkle_leaves
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_leaves_no_delete BEFORE DELETE ON merkle_leaves
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE ON merkle_nodes
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'signed checkpoints are kept'); END;
    CREATE TRIGGER checkpoints_keep_note BEFORE UPDATE OF size, note, created_at ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'signed checkpoints are kept'); END;
    """,
)


def apply(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date inside the caller's transaction; returns the version."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema {version} is newer than this software ({len(MIGRATIONS)}); "
            "upgrade BackUp before starting this node")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version={number}")
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT the caller's transaction; run statement by statement.
    parts = []
    buf = ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            parts.append(buf.strip())
            buf = ""
    if buf.strip():
        parts.append(buf.strip())
    return parts
