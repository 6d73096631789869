"""Numbered schema migrations, applied in order and recorded in ``PRAGMA user_version``.

Columns hold only what a seized, powered-off node may reveal (docs/invariants.md, 1):
random ids, coarse timestamps (the hour), statuses, consent flags, sizes. Everything a
reporter wrote or uploaded is in `*_ct` columns (XChaCha20-Poly1305) or encrypted blobs.
Never edit a released migration; add a new one.
"""

from __future__ import annotations

import sqlite3


def _hash_prefix_sql(column: str) -> str:
    """SQL for the first 8 bytes of a BLOB ``column`` as a signed big-endian integer, what
    `node.evidence.log_store.hash_prefix` computes in Python. SQLite has no function for it:
    the sum of the 16 hex digits of ``hex(column)`` by their place values, the first digit
    read as signed (two's complement), added first so that no partial sum overflows."""
    digits = [f"(instr('0123456789ABCDEF', substr(hex({column}), {k + 1}, 1)) - 1)"
              for k in range(16)]
    first = f"({digits[0]} - 16 * ({digits[0]} >= 8)) * {16**15}"
    return " + ".join([first, *(f"{d} * {16**(15 - k)}" for k, d in enumerate(digits) if k)])


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
    -- the hashes of the complete subtrees of 2^level leaves (level 0: the leaf hashes),
    -- 16 to a row: row `chunk` holds subtrees 16·chunk .. 16·chunk + 15, 32 bytes each, in
    -- order. Only the last row of a level may hold fewer, and it only ever grows.
    CREATE TABLE merkle_hashes (
        level INTEGER NOT NULL CHECK (level >= 0),
        chunk INTEGER NOT NULL CHECK (chunk >= 0),
        hashes BLOB NOT NULL
            CHECK (length(hashes) % 32 = 0 AND length(hashes) BETWEEN 32 AND 512),
        PRIMARY KEY (level, chunk)
    ) STRICT, WITHOUT ROWID;
    -- which leaf has this hash: a leaf goes in once
    CREATE TABLE merkle_leaf_index (
        leaf_hash BLOB PRIMARY KEY CHECK (length(leaf_hash) = 32),
        idx INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    -- a C2SP signed note; timestamp_token: an RFC 3161 token over it, added later if any
    CREATE TABLE checkpoints (
        size INTEGER PRIMARY KEY,
        note BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        timestamp_token BLOB
    ) STRICT;
    CREATE TRIGGER merkle_hashes_append_only BEFORE UPDATE ON merkle_hashes
    WHEN OLD.level != NEW.level OR OLD.chunk != NEW.chunk OR length(OLD.hashes) >= 512
        OR substr(NEW.hashes, 1, length(OLD.hashes)) != OLD.hashes
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_hashes_no_delete BEFORE DELETE ON merkle_hashes
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_leaf_index_append_only BEFORE UPDATE ON merkle_leaf_index
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_leaf_index_no_delete BEFORE DELETE ON merkle_leaf_index
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'signed checkpoints are kept'); END;
    CREATE TRIGGER checkpoints_keep_note BEFORE UPDATE OF size, note, created_at ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'signed checkpoints are kept'); END;
    """,
    # 4: the privacy budget ledger of differentially private releases (issue 6,
    # node/statistics/budget.py). One row per draft, charged when its noise was drawn and
    # kept whatever its fate; the noisy counts (DP outputs) are sealed to the analysis key
    # and dropped when a draft is discarded.
    """
    CREATE TABLE statistics_releases (
        id TEXT PRIMARY KEY CHECK (length(id) = 32),
        period TEXT NOT NULL,
        plan_version INTEGER NOT NULL,
        tables TEXT NOT NULL,
        epsilon REAL NOT NULL CHECK (epsilon > 0),
        created_hour INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'sent', 'discarded')),
        reviewed_by TEXT,
        reviewed_hour INTEGER,
        sent_hour INTEGER,
        payload_key BLOB,
        payload_ct BLOB
    ) STRICT;
    CREATE INDEX statistics_releases_by_period ON statistics_releases (period, status);
    CREATE TRIGGER statistics_ledger_no_delete BEFORE DELETE ON statistics_releases
    BEGIN SELECT RAISE(ABORT, 'the privacy budget ledger is append-only'); END;
    CREATE TRIGGER statistics_ledger_keep_loss
    BEFORE UPDATE OF id, period, plan_version, tables, epsilon, created_hour
    ON statistics_releases
    BEGIN SELECT RAISE(ABORT, 'a charged privacy loss cannot change'); END;
    CREATE TRIGGER statistics_ledger_no_redraft BEFORE UPDATE OF status ON statistics_releases
    WHEN NEW.status = 'draft' AND OLD.status != 'draft'
    BEGIN SELECT RAISE(ABORT, 'a reviewed release cannot become a draft again'); END;
    """,
    # 5: link each report to its evidence leaf: the record (type, receipt time, salt,
    # content SHA-256, leaf index) of the report as submitted, encrypted with the case key
    # (attachments and additions keep theirs in report_items.meta_ct)
    """
    ALTER TABLE reports ADD COLUMN evidence_ct BLOB;
    """,
    # 6: the federation (issue 5, node/federation/store.py): membership, the membership list,
    # witnesses of this node's log and their cosignatures, the logs this node witnesses, and
    # fork alarms. Node ids, sizes, signed notes (hashes only) and keys: no report data.
    """
    CREATE TABLE federation_membership (
        observatory TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
        requested_at INTEGER NOT NULL,
        decided_at INTEGER,
        reason TEXT,
        certificate TEXT
    ) STRICT;
    CREATE TABLE federation_membership_list (
        observatory TEXT PRIMARY KEY,
        sequence INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        list TEXT NOT NULL,
        fetched_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE federation_witnesses (
        witness TEXT PRIMARY KEY,
        cosigned_size INTEGER,
        last_outcome TEXT,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE federation_cosignatures (
        size INTEGER NOT NULL,
        witness TEXT NOT NULL,
        line TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (size, witness)
    ) STRICT;
    CREATE TABLE federation_witnessed (
        origin TEXT PRIMARY KEY,
        node_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
        note TEXT NOT NULL,
        cosignature TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE federation_alarms (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('peer_fork', 'own_log_fork', 'witness_ahead')),
        origin TEXT NOT NULL,
        reported_by TEXT NOT NULL,
        first_note TEXT,
        second_note TEXT NOT NULL,
        detail TEXT,
        raised_at INTEGER NOT NULL,
        UNIQUE (kind, origin, reported_by, second_note)
    ) STRICT;
    CREATE TRIGGER federation_alarms_kept BEFORE DELETE ON federation_alarms
    BEGIN SELECT RAISE(ABORT, 'fork alarms are evidence and are kept'); END;
    """,
    # 7: the evidence log's leaf-hash index keyed by an integer, in two parts (issue 4, append
    # speed; node/evidence/log_store.py says why): the first 8 bytes of each leaf hash, as a
    # signed big-endian integer, name its index; the newest leaves are in a small table that
    # is moved into the big one in sorted runs; a leaf whose 8 bytes another leaf already
    # has is kept by its whole hash. Existing entries move into the big table.
    f"""
    CREATE TABLE merkle_leaf_prefix (
        prefix INTEGER PRIMARY KEY,
        idx INTEGER NOT NULL CHECK (idx >= 0)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE merkle_leaf_index_recent (
        prefix INTEGER PRIMARY KEY,
        idx INTEGER NOT NULL CHECK (idx >= 0)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE merkle_leaf_index_collisions (
        leaf_hash BLOB PRIMARY KEY CHECK (length(leaf_hash) = 32),
        idx INTEGER NOT NULL CHECK (idx >= 0)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO merkle_leaf_prefix (prefix, idx)
        SELECT {_hash_prefix_sql("leaf_hash")}, idx FROM merkle_leaf_index
        WHERE true ORDER BY idx ON CONFLICT (prefix) DO NOTHING;
    INSERT INTO merkle_leaf_index_collisions (leaf_hash, idx)
        SELECT leaf_hash, idx FROM merkle_leaf_index
        WHERE idx NOT IN (SELECT idx FROM merkle_leaf_prefix);
    DROP TABLE merkle_leaf_index;
    ALTER TABLE merkle_leaf_prefix RENAME TO merkle_leaf_index;
    CREATE TRIGGER merkle_leaf_index_append_only BEFORE UPDATE ON merkle_leaf_index
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_leaf_index_no_delete BEFORE DELETE ON merkle_leaf_index
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_leaf_index_recent_append_only BEFORE UPDATE ON merkle_leaf_index_recent
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    -- an entry leaves the small table only once the same entry is in the big one
    CREATE TRIGGER merkle_leaf_index_recent_moved BEFORE DELETE ON merkle_leaf_index_recent
    WHEN NOT EXISTS (SELECT 1 FROM merkle_leaf_index
                     WHERE prefix = OLD.prefix AND idx = OLD.idx)
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_leaf_index_collisions_append_only
    BEFORE UPDATE ON merkle_leaf_index_collisions
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    CREATE TRIGGER merkle_leaf_index_collisions_no_delete
    BEFORE DELETE ON merkle_leaf_index_collisions
    BEGIN SELECT RAISE(ABORT, 'the evidence log is append-only'); END;
    """,  # noqa: S608 -- a constant expression built by _hash_prefix_sql, no input
    # 8: which outbox envelope carries which approved statistics release, and what the
    # observatory answered (issue 6) -- ids and a reason code, no counts
    """
    CREATE TABLE statistics_deliveries (
        envelope_id TEXT PRIMARY KEY,
        release_id TEXT NOT NULL REFERENCES statistics_releases(id),
        queued_hour INTEGER NOT NULL,
        answer TEXT,
        answered_hour INTEGER
    ) STRICT;
    """,
    # 9: reports newest first, as every list orders them (received_hour DESC, id): the index
    # also covers ordering a search's matches (node/web/staff/cases.py `_newest_first`),
    # which without it read every encrypted report row (20 ms at 10,000 reports, per search)
    """
    CREATE INDEX reports_by_time_and_id ON reports (received_hour DESC, id);
    DROP INDEX reports_by_time;
    """,
    # 10: metadata a seized node should not reveal (issue 11). Deletion reasons are a closed
    # list: a coordinator's own words are sealed to the intake key (note_ct); the free text
    # of earlier deletions is dropped, not kept in clear, and becomes "other". The reporter's
    # messages, and the times they read staff's, are kept to the hour; the conversation is
    # ordered by seq, numbered in the order written (earlier messages: by time, then id).
    # The custody entries that hold the same text and seconds are rewritten once the node
    # has its identity key (`node.backoffice.audit_rewrite`), which `pending` asks for.
    """
    ALTER TABLE deletions ADD COLUMN note_ct BLOB;
    UPDATE deletions SET reason = 'other'
        WHERE reason NOT IN ('reporter request', 'retention period ended');
    ALTER TABLE messages ADD COLUMN seq INTEGER;
    UPDATE messages SET seq = (SELECT COUNT(*) FROM messages AS m
        WHERE m.report_id = messages.report_id
          AND (m.at < messages.at OR (m.at = messages.at AND m.id <= messages.id)));
    UPDATE messages SET at = at - at % 3600 WHERE direction = 'from_reporter';
    UPDATE messages SET read_at = read_at - read_at % 3600 WHERE read_at IS NOT NULL;
    CREATE INDEX messages_in_order ON messages (report_id, seq);
    DROP INDEX messages_by_report;
    CREATE TRIGGER messages_seq AFTER INSERT ON messages WHEN NEW.seq IS NULL
    BEGIN
        UPDATE messages SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages
                                   WHERE report_id = NEW.report_id)
        WHERE id = NEW.id;
    END;
    INSERT INTO node_meta (key, value) VALUES ('audit_rewrite_pending', X'3130');
    """,
    # 11: what a reporter lets go to a court, as consent data (issue 12). Reports consented
    # before it get the default scope (everything legal use needs: all of these).
    """
    ALTER TABLE reports ADD COLUMN consent_court_narrative INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE reports ADD COLUMN consent_court_when INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE reports ADD COLUMN consent_court_place INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE reports ADD COLUMN consent_court_perpetrators INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE reports ADD COLUMN consent_court_role INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE reports ADD COLUMN consent_court_files INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE consent_events ADD COLUMN court_narrative INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE consent_events ADD COLUMN court_when INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE consent_events ADD COLUMN court_place INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE consent_events ADD COLUMN court_perpetrators INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE consent_events ADD COLUMN court_role INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE consent_events ADD COLUMN court_files INTEGER NOT NULL DEFAULT 1;
    """,
    # 12: keys and custody that hold against a database writer (issue 13). Certificates of
    # stored public keys by the node's identity key (node/key_certificates.py); the session
    # keys that sign the custody head, each certified by the custody role key; the anchors
    # of the custody head in the evidence log (node/backoffice/audit.py). Signing the keys
    # already stored needs the identity key, so it runs when the node opens
    # (``key_certificates_pending``).
    """
    CREATE TABLE key_certificates (
        subject TEXT PRIMARY KEY,
        public_key BLOB NOT NULL,
        signature BLOB NOT NULL
    ) STRICT;
    CREATE TABLE custody_sessions (
        public_key BLOB PRIMARY KEY,
        certificate BLOB NOT NULL,
        first_seq INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE custody_anchors (
        leaf_index INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash BLOB NOT NULL,
        session_key BLOB NOT NULL,
        at INTEGER NOT NULL,
        salt BLOB NOT NULL
    ) STRICT;
    INSERT INTO node_meta (key, value) VALUES ('key_certificates_pending', X'3132');
    """,
    # 13: consent authenticated by a key outside the database (issue 13): each report's
    # consent flags and history are tagged (HMAC) under keys/consent.key; existing reports
    # are tagged once at the next open (node/intake/consent_auth.py), flagged here.
    """
    ALTER TABLE reports ADD COLUMN consent_mac BLOB;
    INSERT INTO node_meta (key, value) VALUES ('consent_auth_pending', X'3133');
    """,
    # 14: each report's lifetime privacy loss (issue 14, node/statistics/budget.py and
    # bounding.py): what each release cost each report it counted, append-only but for the
    # erasure of a report. Releases drawn before it were bounded per calendar year, so each
    # report that existed when one was drawn and describes an incident is charged that
    # release's whole loss (an upper bound of what it could have lost; the incidents' dates
    # are sealed, so a finer charge would need the analysis key). A draft still pending was
    # drawn under that older bound: it is voided (its loss stays charged). A voided draft is
    # a discarded one with the reason it was voided.
    """
    ALTER TABLE statistics_releases ADD COLUMN void_reason TEXT
        CHECK (void_reason IN ('consent', 'erasure', 'coding', 'upgrade'));
    CREATE TABLE statistics_report_charges (
        report_id TEXT NOT NULL,
        release_id TEXT NOT NULL REFERENCES statistics_releases(id),
        epsilon REAL NOT NULL CHECK (epsilon >= 0),
        PRIMARY KEY (report_id, release_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX statistics_report_charges_by_release
        ON statistics_report_charges (release_id);
    CREATE TRIGGER statistics_report_charges_keep BEFORE UPDATE ON statistics_report_charges
    BEGIN SELECT RAISE(ABORT, 'a charged privacy loss cannot change'); END;
    INSERT INTO statistics_report_charges (report_id, release_id, epsilon)
        SELECT r.id, s.id, s.epsilon FROM statistics_releases AS s
        JOIN reports AS r ON r.received_hour <= s.created_hour
        WHERE r.id IN (SELECT report_id FROM incident_links);
    UPDATE statistics_releases SET status = 'discarded', reviewed_by = 'system',
        void_reason = 'upgrade', payload_key = NULL, payload_ct = NULL
        WHERE status = 'draft';
    """,
    # 15: a shared geography (issue 14, protocol/regions.py). Releases count regions by the
    # federation's ISO 3166-2 codes, which node.toml maps each region to; a draft drawn
    # before was keyed by the node's own codes, and re-keying its noisy counts would add
    # noises together and break their declared scale. Pending drafts are therefore voided
    # through the ledger when the node opens (`node.statistics.geography_upgrade`): their
    # sealed counts dropped, their loss still charged, the audit log saying why.
    """
    INSERT INTO node_meta (key, value) VALUES ('statistics_geography_pending', X'31');
    """,
    # 16: codings can be withdrawn and keep their history (issue 15). A withdrawn coding
    # stays linked (so that deleting a report still erases it) but no statistics count it.
    # Each earlier version of a coding is kept sealed under the incident's own key, with who
    # changed it and when inside the ciphertext: the table shows only how many versions an
    # incident has had.
    """
    ALTER TABLE incidents ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE incident_history (
        incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        entry_ct BLOB NOT NULL,
        PRIMARY KEY (incident_id, version)
    ) STRICT;
    """,
    # 17: the node's adapted suggestion model (issue 17, node/analysis/adapted.py): training
    # examples from confirmed codings (sealed to the intake key: they hold narrative text),
    # model versions (encrypted under a key sealed to the analysis key), and which reports
    # each version was trained on, so that deleting a report shreds every version it shaped.
    """
    CREATE TABLE analysis_examples (
        report_id TEXT PRIMARY KEY,
        example_ct BLOB NOT NULL,
        added_at INTEGER NOT NULL
    );
    CREATE TABLE analysis_models (
        version INTEGER PRIMARY KEY,
        created_at INTEGER NOT NULL,
        examples INTEGER NOT NULL,
        key_ct BLOB NOT NULL,
        model_ct BLOB NOT NULL,
        active INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE analysis_model_reports (
        version INTEGER NOT NULL,
        report_id TEXT NOT NULL,
        PRIMARY KEY (version, report_id)
    );
    CREATE INDEX analysis_model_reports_by_report ON analysis_model_reports (report_id);
    """,
    # 18: the expert network's profiles (issue 16). An expert is a `staff` account with the
    # role "expert" alone; here are their Ed25519 key (the seed sealed to their own X25519
    # key, so only they can sign) and the structured profile the federation may see: sorted
    # comma-separated codes of `protocol.experts` ('' until the expert fills it in); and the
    # latest signed expert directory the node verified.
    """
    CREATE TABLE expert_profiles (
        staff_id TEXT PRIMARY KEY REFERENCES staff(id),
        signing_public_key BLOB NOT NULL,
        signing_seed_sealed BLOB NOT NULL,
        specialties TEXT NOT NULL DEFAULT '',
        languages TEXT NOT NULL DEFAULT '',
        countries TEXT NOT NULL DEFAULT '',
        regions TEXT NOT NULL DEFAULT '',
        modes TEXT NOT NULL DEFAULT '',
        availability TEXT NOT NULL DEFAULT 'away'
            CHECK (availability IN ('now', 'this_week', 'away')),
        updated_hour INTEGER NOT NULL,
        -- the expert's signed request to be vetted (`protocol.experts.ExpertVouch`), made
        -- when they save their profile; sent once a coordinator vouched; the observatory's
        -- countersigned credential once it came back
        vouch TEXT,
        vouched_by TEXT REFERENCES staff(id),
        vouched_hour INTEGER,
        credential TEXT,
        -- when the expert last changed their availability, and the change last queued
        -- for the observatory (the directory carries it)
        availability_changed_at INTEGER,
        availability_queued_at INTEGER
    ) STRICT;
    -- the latest expert directory this node verified (one row): whom it may share with
    CREATE TABLE expert_directory (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sequence INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        directory TEXT NOT NULL
    ) STRICT;
    """,
    # 19: what each member of staff has seen of a case (issue 15, node/backoffice/inbox.py):
    # per person and case, the last message number, the last consent event and the time of
    # the case page they saw. Numbers and times only, never content; the inbox and the
    # navigation counts compare them with the clear metadata already stored (message
    # direction and number, consent events, task due days, assignment times, the triage
    # queue's statuses), through the indexes added here, without decrypting anything.
    """
    CREATE TABLE inbox_marks (
        staff_id TEXT NOT NULL,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        message_seq INTEGER NOT NULL DEFAULT 0,
        consent_event INTEGER NOT NULL DEFAULT 0,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (staff_id, report_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX inbox_marks_by_report ON inbox_marks (report_id);
    CREATE INDEX case_key_wraps_by_staff ON case_key_wraps (staff_id, report_id);
    CREATE INDEX case_tasks_open_by_report ON case_tasks (report_id, due_day)
        WHERE done_at IS NULL;
    CREATE INDEX consent_events_by_report ON consent_events (report_id, id);
    CREATE INDEX reports_in_triage ON reports (id) WHERE status IN ('new', 'in_triage');
    """,
    # 20: four eyes on statistics releases (issue 15, node/statistics/four_eyes.py): who
    # drafted each release (read back from the custody log for releases drawn before), whether
    # its approval needed a second person, and triggers that keep the drafter and refuse the
    # drafter's own approval when it did; the setting the node last ran with, so that a start
    # with a changed setting goes into the custody log (on, the default, until then).
    """
    ALTER TABLE statistics_releases ADD COLUMN drafted_by TEXT;
    ALTER TABLE statistics_releases ADD COLUMN four_eyes INTEGER CHECK (four_eyes IN (0, 1));
    UPDATE statistics_releases SET drafted_by = (
        SELECT a.actor FROM audit_log AS a WHERE a.action = 'statistics.draft'
        AND a.object_id = statistics_releases.id ORDER BY a.seq LIMIT 1);
    CREATE TRIGGER statistics_keep_drafter BEFORE UPDATE OF drafted_by ON statistics_releases
    WHEN OLD.drafted_by IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'who drafted a release cannot change'); END;
    CREATE TRIGGER statistics_four_eyes BEFORE UPDATE OF status ON statistics_releases
    WHEN NEW.status = 'approved' AND NEW.four_eyes = 1 AND NEW.reviewed_by = OLD.drafted_by
    BEGIN SELECT RAISE(ABORT, 'four eyes: the person who drafted cannot approve'); END;
    INSERT INTO node_meta (key, value) VALUES ('statistics_four_eyes', X'31');
    """,
    # 21: decisions on suggested codings (issue 17, node/analysis/case_suggestions.py): per
    # report, what people accepted, edited or rejected, encrypted under the report's own data
    # key (only those who may open the case read it); erased with the report.
    """
    CREATE TABLE suggestion_decisions (
        report_id TEXT PRIMARY KEY,
        decisions_ct BLOB NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    """,
    # 22: what a list page reads of every case it may list (issue 15,
    # node/backoffice/case_listing.py): an index holding exactly those clear columns, so that
    # filtering and sorting 10,000 cases reads the index, never the encrypted rows (a table
    # scan read every report's ciphertext). Columns that were already clear; nothing new.
    """
    CREATE INDEX reports_for_lists ON reports (received_hour DESC, id, updated_hour, status,
        synthetic, consent_care, consent_referral, consent_legal, consent_statistics,
        consent_sharing, consent_contact);
    """,
    # 23: mobilising experts (issue 16, node/experts/needs.py, received_needs.py,
    # engagements.py). On the requesting node: the coordinator's needs (structured fields;
    # the free text sealed to the poster's own key) and the experts each went to, with their
    # signed answers. On an expert's home node: each need for each of its matched experts,
    # erased at the need's deadline. On both: the engagements, and the messages waiting to
    # be put into the federation outbox (removed in the transaction that queues them). An
    # expert's address for notification e-mails, encrypted (node/experts/notify.py).
    """
    CREATE TABLE expert_needs (
        need_id TEXT PRIMARY KEY,
        posted_by TEXT NOT NULL REFERENCES staff(id),
        report_id TEXT,
        specialty TEXT NOT NULL,
        languages TEXT NOT NULL,
        country TEXT NOT NULL,
        regions TEXT NOT NULL DEFAULT '',
        mode TEXT NOT NULL CHECK (mode IN ('remote', 'on_site', 'either')),
        urgency TEXT NOT NULL CHECK (urgency IN ('routine', 'urgent', 'immediate')),
        posted_at INTEGER NOT NULL,
        answer_by INTEGER NOT NULL,
        deadline INTEGER NOT NULL,
        description_sealed BLOB,
        widened INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'engaged', 'withdrawn'))
    ) STRICT;
    CREATE TABLE expert_need_matches (
        need_id TEXT NOT NULL REFERENCES expert_needs(need_id) ON DELETE CASCADE,
        expert_key TEXT NOT NULL,
        box_key TEXT NOT NULL,
        home_node TEXT NOT NULL,
        answer TEXT CHECK (answer IN ('accept', 'decline')),
        reason TEXT,
        signed_answer TEXT,
        PRIMARY KEY (need_id, expert_key)
    ) STRICT;
    CREATE TABLE expert_needs_received (
        requesting_node TEXT NOT NULL,
        need_id TEXT NOT NULL,
        staff_id TEXT NOT NULL REFERENCES staff(id),
        need TEXT NOT NULL,
        deadline INTEGER NOT NULL,
        seen INTEGER NOT NULL DEFAULT 0,
        notified INTEGER NOT NULL DEFAULT 0,
        answer TEXT CHECK (answer IN ('accept', 'decline')),
        outcome TEXT CHECK (outcome IN ('engaged', 'not_chosen')),
        PRIMARY KEY (requesting_node, need_id, staff_id)
    ) STRICT;
    CREATE INDEX expert_needs_received_by_deadline ON expert_needs_received (deadline);
    CREATE TABLE expert_engagements (
        engagement_id TEXT PRIMARY KEY,
        need_id TEXT NOT NULL,
        requesting_node TEXT NOT NULL,
        home_node TEXT NOT NULL,
        report_id TEXT,
        coordinator_id TEXT REFERENCES staff(id),
        expert_staff_id TEXT REFERENCES staff(id),
        expert_key TEXT NOT NULL,
        expert_box_key TEXT NOT NULL,
        coordinator_key TEXT NOT NULL,
        coordinator_box_key TEXT NOT NULL,
        description_sealed BLOB,
        decided_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'ended'))
    ) STRICT;
    ALTER TABLE expert_profiles ADD COLUMN notify_email BLOB;
    CREATE TABLE expert_outgoing (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        type TEXT NOT NULL,
        message TEXT NOT NULL
    ) STRICT;
    """,
    # 24: what a reporter lets be shared with a vetted expert, as consent data, and the
    # shares themselves (issue 16, node/experts/shares.py). The scope defaults to nothing
    # ("not given" is 0, so consent tags written before stay valid); a report consented to
    # sharing before has share_scope_set = 0 and is asked again on its receipt page. On the
    # requesting node a share is a record of what went to whom, never the material; on the
    # expert's home node it is ciphertext sealed to the expert, which that node cannot open,
    # until it is revoked (the row stays as a tombstone, so a part arriving late is dropped).
    """
    ALTER TABLE reports ADD COLUMN consent_share_account INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE reports ADD COLUMN consent_share_files INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE reports ADD COLUMN consent_share_contact INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE reports ADD COLUMN consent_share_other_orgs INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE reports ADD COLUMN consent_share_scope_set INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_events ADD COLUMN share_account INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_events ADD COLUMN share_files INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_events ADD COLUMN share_contact INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_events ADD COLUMN share_other_orgs INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_events ADD COLUMN share_scope_set INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE expert_shares_sent (
        share_id TEXT PRIMARY KEY,
        engagement_id TEXT NOT NULL,
        -- NULL once the report is deleted (the share was revoked with it)
        report_id TEXT REFERENCES reports(id),
        expert_key TEXT NOT NULL,
        box_key TEXT NOT NULL,       -- the X25519 key it was sealed to (the credential's)
        home_node TEXT NOT NULL,
        -- the kind of expert as the reporter may see it (a specialty code), never a name
        specialty TEXT NOT NULL,
        what TEXT NOT NULL,          -- comma-separated field groups and file ids shared
        parts INTEGER NOT NULL,
        shared_at INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        envelopes TEXT NOT NULL DEFAULT '',  -- the outbox envelopes carrying it, once queued
        revoked_at INTEGER,
        revoke_reason TEXT,
        revocation_queued INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX expert_shares_sent_by_report ON expert_shares_sent (report_id);
    -- on the expert's home node; the row stays, revoked, as a tombstone (staff_id NULL:
    -- a revocation that arrived before its share)
    CREATE TABLE expert_shares_held (
        share_id TEXT PRIMARY KEY,
        engagement_id TEXT NOT NULL,
        requesting_node TEXT NOT NULL,
        staff_id TEXT REFERENCES staff(id),
        parts INTEGER NOT NULL,
        shared_at INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        revoked_at INTEGER,
        revoke_reason TEXT
    ) STRICT;
    -- sealed parts: on the requesting node until they are queued in the outbox, on the
    -- home node until the share is revoked, expires or its expert's credential ends
    CREATE TABLE expert_share_parts (
        share_id TEXT NOT NULL,
        part INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        PRIMARY KEY (share_id, part)
    ) STRICT;
    """,
    # 25: submissions imported from KoboToolbox or ODK (issue 19, node/imports/): a keyed
    # hash of the submission's UUID (never the UUID) makes imports idempotent; the original
    # submission, encrypted under its report's data key, is erased with the report, and a
    # row without a report stays so that importing the export again does not bring back a
    # deleted report.
    """
    CREATE TABLE imported_submissions (
        submission_index BLOB PRIMARY KEY,
        source TEXT NOT NULL CHECK (source IN ('kobo', 'odk')),
        report_id TEXT UNIQUE REFERENCES reports(id),
        imported_hour INTEGER NOT NULL,
        original_ct BLOB
    ) STRICT;
    """,
    # 26: status by SMS (issue 19, node/channels/sms_pins.py): per report, a keyed hash of
    # the reporter's status-only PIN (under the receipt index key, which is not in the
    # database), the language of the replies, and, only when the reporter opted in to
    # notices, the phone number encrypted under the report's own data key; erased with the
    # report.
    """
    CREATE TABLE sms_status_pins (
        report_id TEXT PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
        pin_tag BLOB NOT NULL,
        lang TEXT NOT NULL,
        notify INTEGER NOT NULL CHECK (notify IN (0, 1)),
        phone_ct BLOB,
        set_at INTEGER NOT NULL
    ) STRICT;
    """,
    # 27: voice recordings asked about apart in the court scope (issue 20). A voice
    # identifies the speaker: consents given before default to "not disclosed" (0), which
    # the consent tags leave out (node/intake/consent_auth.py), so they still verify.
    """
    ALTER TABLE reports ADD COLUMN consent_court_voice INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_events ADD COLUMN court_voice INTEGER NOT NULL DEFAULT 0;
    """,
    # 28: consent to matching perpetrators across organisations (issue 18,
    # node/matching/). A consent kind like the others: a column of the report and of its
    # history, off unless given (so tags written before stay valid, consent_auth). Reports
    # made before it was asked are flagged, and the receipt page asks their reporter;
    # reports made from now on were asked on the form. Then the perpetrator identifiers
    # staff confirm and the tokens made from them.
    """
    ALTER TABLE reports ADD COLUMN consent_matching INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_events ADD COLUMN matching INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE reports ADD COLUMN matching_asked INTEGER NOT NULL DEFAULT 1;
    UPDATE reports SET matching_asked = 0;
    -- identifiers staff confirmed (JSON under the report's data key, node.matching.identifiers),
    -- the OPRF tokens made from them per key epoch, and case references whose tokens must
    -- be withdrawn from the observatory (no report id: the report may be gone)
    CREATE TABLE perpetrator_identifiers (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        body_ct BLOB NOT NULL
    ) STRICT;
    CREATE INDEX perpetrator_identifiers_by_report ON perpetrator_identifiers(report_id);
    CREATE TABLE matching_tokens (
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        case_ref TEXT NOT NULL,  -- random, one a report: all the observatory sees of it
        identifier_id TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        token BLOB NOT NULL,
        submitted_at INTEGER,
        PRIMARY KEY (identifier_id, epoch, kind, token)
    ) STRICT;
    CREATE INDEX matching_tokens_by_report ON matching_tokens(report_id);
    CREATE INDEX matching_tokens_by_token ON matching_tokens(token);
    CREATE TABLE matching_withdrawals (case_ref TEXT PRIMARY KEY) STRICT;
    -- "one of your cases matched a case at N other organisation(s)" (node.matching.notices)
    CREATE TABLE matching_matches (
        case_ref TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        others INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        notified_at INTEGER NOT NULL,
        dismissed_at INTEGER,
        dismissed_by TEXT
    ) STRICT;
    """,
    # 29: evidence log successors (issue 21, node/evidence/succession.py): the successor
    # statements of this node's own log and of the peers' logs it witnesses (signed notes:
    # origins, a size, a root hash), and which witness recorded ours. Public material only.
    """
    CREATE TABLE log_successions (
        new_origin TEXT PRIMARY KEY,
        node_id TEXT NOT NULL,
        old_origin TEXT NOT NULL UNIQUE,
        old_size INTEGER NOT NULL,
        old_root BLOB NOT NULL,
        statement TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE log_succession_acks (
        witness TEXT NOT NULL,
        new_origin TEXT NOT NULL,
        acked_at INTEGER NOT NULL,
        PRIMARY KEY (witness, new_origin)
    ) STRICT;
    """,
    # 30: case key generations, rotated after a person leaves a case (issue 13)
    """
    -- reports.sealed_key holds the newest generation sealed to the intake key, and
    -- case_key_wraps.sealed the newest sealed to each holder; key_generation is its number.
    ALTER TABLE reports ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 0;
    -- the reporter's X25519 public key, derived from the receipt secret (stored at
    -- submission, or at the reporter's next visit), and the newest generation sealed to it
    ALTER TABLE reports ADD COLUMN reporter_public BLOB CHECK (length(reporter_public) = 32);
    ALTER TABLE reports ADD COLUMN reporter_sealed BLOB;
    ALTER TABLE case_key_wraps ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    -- generation g-1 wrapped under generation g: who holds g opens every older one
    CREATE TABLE case_key_generations (
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        generation INTEGER NOT NULL CHECK (generation >= 1),
        previous_wrap BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (report_id, generation)
    ) STRICT;
    """,
    # 31: the SMS notice of a waiting message as consent data (issue 19,
    # node/channels/sms_pins.py): a consent column of the report and of its history, off
    # unless given (so tags written before stay valid, consent_auth). A notice no longer
    # needs a PIN (the USSD menu turns it on with the number dialled from), so the PIN's
    # tag may be empty: the table is rebuilt, rows kept. Reporters who opted in on the
    # receipt page before have their yes recorded in the consent history by code at the
    # next start (it needs the consent key), flagged here.
    """
    ALTER TABLE reports ADD COLUMN consent_sms_notice INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_events ADD COLUMN sms_notice INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE sms_status_pins_34 (
        report_id TEXT PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
        pin_tag BLOB,
        lang TEXT NOT NULL,
        notify INTEGER NOT NULL CHECK (notify IN (0, 1)),
        phone_ct BLOB,
        set_at INTEGER NOT NULL
    ) STRICT;
    INSERT INTO sms_status_pins_34 (report_id, pin_tag, lang, notify, phone_ct, set_at)
        SELECT report_id, pin_tag, lang, notify, phone_ct, set_at FROM sms_status_pins;
    DROP TABLE sms_status_pins;
    ALTER TABLE sms_status_pins_34 RENAME TO sms_status_pins;
    INSERT INTO node_meta (key, value) VALUES ('sms_notice_consent_pending', X'3331');
    """,
    # 32: experts' signed opinions received for a case (issue 16, node/experts/opinions.py).
    # In clear: ids, the expert's key, and what the expert signed (hashes, a kind, a time)
    # with the observatory's credential, as an engagement's row already links them; the
    # content is sealed to the node's intake key until a coordinator opens the case, then kept
    # under the case key (opinion_ct). The leaf's time is the second it arrived.
    """
    CREATE TABLE expert_opinions (
        opinion_id TEXT PRIMARY KEY CHECK (length(opinion_id) = 32),
        engagement_id TEXT NOT NULL,
        report_id TEXT,
        expert_key TEXT NOT NULL,
        statement TEXT NOT NULL,
        signature TEXT NOT NULL,
        credential TEXT NOT NULL,
        digests TEXT NOT NULL,
        sealed BLOB,
        opinion_ct BLOB,
        leaf_index INTEGER NOT NULL,
        received_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX expert_opinions_report ON expert_opinions (report_id);
    """,
    # 33: end-to-end encrypted threads (issue 16, node/experts/threads.py): an engagement's
    # (coordinator <-> expert) and a coordinator <-> coordinator thread of two organisations.
    # One row per thread and local party (both, when both are on this node), with the public
    # keys of both sides; messages only as ciphertext sealed to their reader (the author's
    # own copy, or the one received), numbered per author. `wire` holds a signed message
    # until it is in the outbox (then `envelope_id`); `erasure_pending` a thread whose case
    # was deleted, until the other node is told to erase its copy.
    """
    CREATE TABLE expert_threads (
        thread_id TEXT NOT NULL CHECK (length(thread_id) = 32),
        local_key TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('engagement', 'coordinators')),
        staff_id TEXT REFERENCES staff(id),
        local_box_key TEXT NOT NULL,
        peer_node TEXT NOT NULL,
        peer_key TEXT NOT NULL,
        peer_box_key TEXT NOT NULL,
        report_id TEXT,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER,
        close_reason TEXT,
        erasure_pending INTEGER NOT NULL DEFAULT 0 CHECK (erasure_pending IN (0, 1)),
        PRIMARY KEY (thread_id, local_key)
    ) STRICT;
    CREATE INDEX expert_threads_staff ON expert_threads (staff_id);
    CREATE INDEX expert_threads_report ON expert_threads (report_id);
    CREATE TABLE expert_thread_messages (
        thread_id TEXT NOT NULL,
        reader_key TEXT NOT NULL,
        message_id TEXT NOT NULL CHECK (length(message_id) = 32),
        author_key TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        sent_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        read_at INTEGER,
        notified INTEGER NOT NULL DEFAULT 0 CHECK (notified IN (0, 1)),
        wire TEXT,
        envelope_id TEXT,
        PRIMARY KEY (thread_id, reader_key, message_id),
        UNIQUE (thread_id, reader_key, author_key, sequence),
        FOREIGN KEY (thread_id, reader_key) REFERENCES expert_threads (thread_id, local_key)
    ) STRICT;
    """,
    # 34: introductions of the coordinators of a match (issue 18, node/matching/introductions.py):
    # a coordinator's decision on one recorded match (agree, with their certified public
    # thread keys; or dismiss), until the observatory has it, and the thread the introduction
    # opened. Opaque references and public keys only; erased with the report.
    """
    CREATE TABLE matching_introductions (
        case_ref TEXT PRIMARY KEY,
        report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
        staff_id TEXT,
        decision TEXT NOT NULL CHECK (decision IN ('agree', 'dismiss')),
        coordinator TEXT,
        requested_at INTEGER NOT NULL,
        envelope_id TEXT,
        thread_id TEXT,
        introduced_at INTEGER
    ) STRICT;
    CREATE INDEX matching_introductions_by_report ON matching_introductions(report_id);
    """,
)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer BackUp: downgrades are refused (an older schema
    cannot know what the newer one stores, e.g. what a deletion must also erase)."""


def apply(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date inside the caller's transaction; returns the version."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise SchemaTooNew(
            f"this node's database has schema {version}, newer than this version of BackUp "
            f"knows ({len(MIGRATIONS)}): it was upgraded before. Downgrades are refused; "
            "install the newer BackUp again (or restore a backup made before the upgrade)")
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
