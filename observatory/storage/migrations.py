"""Numbered schema migrations, applied in order and recorded in ``PRAGMA user_version``.

The observatory holds no survivor data (docs/invariants.md, 3): member organisations
and their public keys, the signed documents it issued, checkpoints (hashes), and the nodes'
differentially private statistics releases (noisy counts and their parameters). The admin
contact of a member is staff contact data and is never published. Never edit a released
migration; add a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: identity, members, membership lists, witness state, cosigned checkpoints, fork alarms
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    CREATE TABLE members (
        node_id TEXT PRIMARY KEY,
        organisation_name TEXT NOT NULL,
        country TEXT NOT NULL,
        contact TEXT NOT NULL,
        identity_key TEXT NOT NULL UNIQUE,
        box_key TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'approved', 'rejected', 'revoked')),
        requested_at INTEGER NOT NULL,
        decided_at INTEGER,
        reason TEXT,                  -- the rejection reason, or the revocation reason code
        certificate TEXT,             -- RFC 8785 JSON of the MembershipCertificate
        certificate_serial TEXT,
        joined_at INTEGER,
        revoked_at INTEGER,
        CHECK ((status = 'pending') = (decided_at IS NULL)),
        CHECK ((status IN ('approved', 'revoked')) = (certificate IS NOT NULL))
    ) STRICT;
    CREATE INDEX members_by_status ON members (status, requested_at);
    CREATE TABLE membership_lists (
        sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
        issued_at INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        list TEXT NOT NULL            -- RFC 8785 JSON of the signed MembershipList
    ) STRICT;
    CREATE TABLE witness_state (
        origin TEXT PRIMARY KEY,
        node_id TEXT NOT NULL REFERENCES members (node_id),
        size INTEGER NOT NULL CHECK (size >= 0),
        root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
        note TEXT NOT NULL,           -- the signed note as the node pushed it
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE cosigned_checkpoints (
        origin TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        node_id TEXT NOT NULL REFERENCES members (node_id),
        root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
        note TEXT NOT NULL,           -- the signed note as the node pushed it
        cosignature TEXT NOT NULL,    -- our tlog-cosignature line, without its newline
        cosigned_at INTEGER NOT NULL,
        PRIMARY KEY (origin, size)
    ) STRICT;
    CREATE TABLE fork_alarms (
        id INTEGER PRIMARY KEY,
        node_id TEXT NOT NULL REFERENCES members (node_id),
        origin TEXT NOT NULL,
        witnessed_size INTEGER NOT NULL,
        pushed_size INTEGER NOT NULL,
        old_note TEXT NOT NULL,       -- what we had cosigned
        new_note TEXT NOT NULL,       -- the signed checkpoint that contradicts it
        detail TEXT NOT NULL,
        raised_at INTEGER NOT NULL,
        acknowledged_at INTEGER,
        UNIQUE (origin, old_note, new_note)
    ) STRICT;
    """,
    # 2: accepted statistics releases (issue 6): DP outputs and their public parameters only.
    # `seq` is the arrival order; `digest` (SHA-256 of the release's RFC 8785 JSON) tells a
    # resent release from a different one under the same id. Counts are little-endian int64,
    # row-major over the table's domains (last dimension fastest), noisy and unclamped.
    """
    CREATE TABLE statistics_releases (
        seq INTEGER PRIMARY KEY,
        release_id TEXT NOT NULL UNIQUE,
        node_id TEXT NOT NULL REFERENCES members (node_id),
        country TEXT NOT NULL,
        period TEXT NOT NULL,
        plan_version INTEGER NOT NULL,
        first_month TEXT NOT NULL,
        last_month TEXT NOT NULL,
        privacy_unit TEXT NOT NULL,
        contributions INTEGER NOT NULL CHECK (contributions >= 1),
        mechanism TEXT NOT NULL,
        epsilon REAL NOT NULL CHECK (epsilon > 0),
        delta REAL NOT NULL,
        budget_per_period REAL NOT NULL,
        spent_in_period REAL NOT NULL,
        created_hour INTEGER NOT NULL,
        received_hour INTEGER NOT NULL,
        digest TEXT NOT NULL
    ) STRICT;
    CREATE INDEX statistics_releases_by_node ON statistics_releases (node_id, period);
    CREATE TABLE statistics_tables (
        release_id TEXT NOT NULL REFERENCES statistics_releases (release_id),
        name TEXT NOT NULL,
        dimensions TEXT NOT NULL,
        domains TEXT NOT NULL,
        counts BLOB NOT NULL,
        mechanism TEXT NOT NULL,
        scale REAL NOT NULL,
        variance REAL NOT NULL,
        accuracy_95 INTEGER NOT NULL,
        epsilon REAL NOT NULL,
        PRIMARY KEY (release_id, name)
    ) STRICT;
    """,
    # 3: releases whose noise looks smaller than declared (issue 14,
    # observatory/statistics/plausibility.py): the findings, as text for the admin; NULL
    # when the release is plausible.
    """
    ALTER TABLE statistics_releases ADD COLUMN implausible TEXT;
    """,
    # 4: the region vocabulary a release's region cells are keyed by (issue 14,
    # protocol/regions.py). Releases accepted before the federation shared one were keyed
    # by each node's own codes ('node'); they are combined apart, never with the others.
    """
    ALTER TABLE statistics_releases ADD COLUMN region_vocabulary TEXT NOT NULL
        DEFAULT 'node';
    """,
    # the expert network (issue 16): vouches waiting for the admin, countersigned
    # credentials (revoked ones stay, so that a revoked key is never vetted again), and every
    # signed directory issued. Keys and structured fields only: no names, no contacts.
    """
    CREATE TABLE expert_vouches (
        vouch_id TEXT NOT NULL UNIQUE,
        home_node TEXT NOT NULL,
        expert_key TEXT PRIMARY KEY,
        vouch TEXT NOT NULL,
        received_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE expert_credentials (
        serial TEXT PRIMARY KEY,
        expert_key TEXT NOT NULL,
        home_node TEXT NOT NULL,
        credential TEXT NOT NULL,
        profile TEXT NOT NULL,
        availability TEXT NOT NULL CHECK (availability IN ('now', 'this_week', 'away')),
        availability_changed_at INTEGER,
        issued_at INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        revoked_at INTEGER,
        revoke_reason TEXT
    ) STRICT;
    CREATE INDEX expert_credentials_key ON expert_credentials (expert_key);
    CREATE TABLE expert_directories (
        sequence INTEGER PRIMARY KEY,
        issued_at INTEGER NOT NULL,
        directory TEXT NOT NULL
    ) STRICT;
    """,
    # perpetrator matching (issue 18, observatory/matching.py): finished tokens under each
    # member's opaque case references, and the notices waiting for delivery. No name, no
    # report id: tokens are OPRF outputs whose key the observatory does not hold.
    """
    CREATE TABLE matching_tokens (
        member TEXT NOT NULL,
        case_ref TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        token BLOB NOT NULL
    ) STRICT;
    -- rows are appended (rowid order), and a duplicate is skipped by the matcher, which
    -- looks every new token up anyway, rather than by a unique key (one random b-tree less)
    CREATE INDEX matching_tokens_by_value ON matching_tokens (token, epoch, kind);
    CREATE INDEX matching_tokens_by_case ON matching_tokens (member, case_ref);
    CREATE TABLE matching_notices (
        notice_id TEXT PRIMARY KEY,
        member TEXT NOT NULL,
        case_ref TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        others INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
    ) STRICT;
    CREATE INDEX matching_notices_by_case ON matching_notices (member, case_ref);
    """,
    # 7: evidence log successors (issue 21): a member's successor statement (a signed note
    # naming its old log's end and its new origin), kept as the witness recorded it; the
    # member's current origin is the end of the chain from its first one.
    """
    CREATE TABLE log_successions (
        new_origin TEXT PRIMARY KEY,
        node_id TEXT NOT NULL,
        old_origin TEXT NOT NULL UNIQUE,
        old_size INTEGER NOT NULL,
        old_root BLOB NOT NULL,
        statement TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
    ) STRICT
    """,
    # 8: the OPRF evaluator of perpetrator tokens (issue 18, observatory/evaluator_keys.py):
    # its identity and each epoch's public key, as the admin recorded them from the
    # evaluator's operator, published in the signed membership list. Public keys only: the
    # observatory never holds the OPRF key.
    """
    CREATE TABLE oprf_evaluator (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        node_id TEXT NOT NULL,
        identity_key TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE oprf_epoch_keys (
        epoch INTEGER PRIMARY KEY CHECK (epoch >= 1),
        public_key TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        retired_at INTEGER
    ) STRICT
    """,
    # 9: matching tokens in two parts (issue 18, observatory/matching.py): a submission's new
    # tokens go to a small `matching_tokens_recent`, whose index pages stay few and cached,
    # and are folded into the large `matching_tokens_stored` (the tokens so far) by sorted
    # chunks in the background; `matching_tokens` reads both, each through its own index.
    """
    ALTER TABLE matching_tokens RENAME TO matching_tokens_stored;
    CREATE TABLE matching_tokens_recent (
        member TEXT NOT NULL,
        case_ref TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        token BLOB NOT NULL
    ) STRICT;
    CREATE INDEX matching_tokens_recent_by_value ON matching_tokens_recent (token, epoch, kind);
    CREATE INDEX matching_tokens_recent_by_case ON matching_tokens_recent (member, case_ref);
    CREATE VIEW matching_tokens AS
        SELECT member, case_ref, epoch, kind, token FROM matching_tokens_stored
        UNION ALL
        SELECT member, case_ref, epoch, kind, token FROM matching_tokens_recent
    """,
    # 10: introductions of the coordinators of a match (issue 18, observatory/introductions.py):
    # each member's decision on one of its matched cases (agree, with its coordinator's
    # certified public keys; or dismiss), and the introductions issued once both sides of a
    # match agreed, waiting to be fetched. Public keys and opaque references only.
    """
    CREATE TABLE matching_introduction_requests (
        member TEXT NOT NULL,
        case_ref TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('agree', 'dismiss')),
        coordinator TEXT,
        requested_at INTEGER NOT NULL,
        PRIMARY KEY (member, case_ref)
    ) STRICT;
    CREATE TABLE matching_introductions (
        introduction_id TEXT PRIMARY KEY,
        member TEXT NOT NULL,
        case_ref TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        peer_member TEXT NOT NULL,
        peer_case_ref TEXT NOT NULL,
        peer TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        delivered_at INTEGER
    ) STRICT;
    CREATE INDEX matching_introductions_by_member ON matching_introductions (member,
        delivered_at);
    CREATE INDEX matching_introductions_by_peer ON matching_introductions (peer_member,
        peer_case_ref)
    """,
)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer BackUp observatory: downgrades are refused."""


def apply(conn: sqlite3.Connection) -> int:
    """Apply the migrations not yet applied, inside the caller's write transaction."""
    current: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise SchemaTooNew(
            f"this observatory's database has schema {current}, newer than this version of "
            f"BackUp knows ({len(MIGRATIONS)}): it was upgraded before. Downgrades are "
            "refused; install the newer BackUp again (or restore a backup made before the "
            "upgrade)")
    for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS) - current
