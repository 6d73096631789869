"""Issue 14's upgrade of the statistics ledger: the shared geography.

Releases count regions by the federation's codes (`protocol.regions`, first-level ISO
3166-2), which ``node.toml`` maps each of the node's regions to. A draft drawn before was
keyed by the node's own codes: the observatory would refuse it, and re-keying its noisy
counts (adding the cells of regions that lie in one subdivision) would add their noises and
break the scale it declares. So migration 15 asks (``node_meta.statistics_geography_pending``)
and the node, when it opens, voids every pending draft through the ledger, the one writer of
a release's status: discarded, its sealed counts dropped, its privacy loss still charged (it
was drawn and seen), and the audit log says why. A new draft is a deliberate act, and pays
again. Approved and sent releases are history and stay as they were.
"""

from __future__ import annotations

from node.backoffice.audit import AuditLog
from node.statistics.budget import Ledger
from node.storage.database import Database

PENDING = "statistics_geography_pending"
ACTOR = "upgrade"  # who reviewed: no person, the upgrade to the shared geography
REASON = "voided at upgrade: counted by the node's own region codes, not the shared geography"


def apply_pending(db: Database, audit: AuditLog, now: int) -> int:
    """Void the drafts the migration asked for, if it did; returns how many."""
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM node_meta WHERE key = ?", (PENDING,)).fetchone() is None:
            return 0
        drafts = [e for e in Ledger.entries(conn) if e.status == "draft"]
        for entry in drafts:
            Ledger.discard(conn, entry.id, reviewed_by=ACTOR, hour=now // 3600)
            audit.append(conn, at=now, actor=ACTOR, action="statistics.discard",
                         object_type="statistics_release", object_id=entry.id,
                         detail=f"period {entry.period}, epsilon {entry.epsilon:.6g} "
                                f"(stays spent); {REASON}")
        conn.execute("DELETE FROM node_meta WHERE key = ?", (PENDING,))
    return len(drafts)
