"""Re-committing a report stored before issue 12 (leaf version 1, one salt over the whole
report, contact details included) as per-field disclosures (leaf version 2), so that its
bundle can withhold contact details and still verify.

It needs the case's key, so it runs when a coordinator exports the case, or for every
report at once with ``backup-node recommit-evidence`` (a coordinator's passphrase), never
at start-up. The preview only shows that it will happen. The new leaf
is appended at the time of re-commitment and carries, as always-disclosed fields, the
original leaf's position, hash and receipt time; the original leaf stays in the log and is
listed in every bundle of the case as withheld (committed). The chain of custody records
the re-commitment. A court reads: this report's fields were committed on the migration date
by the node, which states that they are those of the original leaf -- a statement of the
node, as the original content cannot be shown without its contact details.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from backup_evidence.disclosures import report_subject
from backup_evidence.leaves import ItemType
from crypto import merkle
from crypto.keys import DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require
from node.backoffice.audit import AuditLog
from node.backoffice.case_access import CaseAccess
from node.evidence import items
from node.intake.service import IntakeService
from node.storage.database import Database


def ensure_per_field(db: Database, intake: IntakeService, audit: AuditLog, actor: str,
                     report_id: str, key: DataKey, clock: Callable[[], datetime]
                     ) -> items.DisclosedRecord | None:
    """The report's version-2 record, re-committing it first if it has only a version-1
    one; None for a report with no evidence record at all."""
    record = intake.evidence_record(report_id, key)
    if record is None or isinstance(record, items.DisclosedRecord):
        return record
    submitted = intake.submitted(report_id, key)
    if hashlib.sha256(submitted).digest() != record.sha256:
        raise errors.NodeError()  # the stored report does not match its commitment
    original_leaf = items.EvidenceRecord.leaf(record)
    fields = [*items.report_fields(json.loads(submitted)),
              (f"{items.RECOMMITS}.leaf_index", record.leaf_index),
              (f"{items.RECOMMITS}.leaf_hash", merkle.leaf_hash(original_leaf).hex()),
              (f"{items.RECOMMITS}.received_at", record.received_at)]
    now = int(clock().timestamp())
    with db.write() as conn:
        [new] = items.commit_items(conn, [items.NewItem(
            ItemType.REPORT, now, report_subject(report_id), fields)])
        intake.store_recommitted(conn, report_id, key, record, new)
        audit.append(conn, at=now, actor=actor, action="evidence.recommit",
                     object_type="report", object_id=report_id,
                     detail=f"report re-committed field by field (leaf version 2) at log "
                            f"position {new.leaf_index}; its original leaf at position "
                            f"{record.leaf_index} stays in the log")
    return new


def recommit_all(db: Database, access: CaseAccess, intake: IntakeService, audit: AuditLog,
                 staff: UnlockedStaff, clock: Callable[[], datetime]) -> int:
    """Re-commit every report still committed whole (``backup-node recommit-evidence``, by
    a coordinator, e.g. once after upgrading); returns how many were re-committed."""
    require(staff.member, Action.EXPORT_CASE)
    ids = [r[0] for r in db.read().execute(
        "SELECT id FROM reports WHERE evidence_ct IS NOT NULL ORDER BY rowid")]
    done = 0
    for report_id in ids:
        key = access.case_key(staff, report_id)
        if isinstance(intake.evidence_record(report_id, key), items.EvidenceRecord):
            ensure_per_field(db, intake, audit, staff.member.id, report_id, key, clock)
            done += 1
    return done
