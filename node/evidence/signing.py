"""Signing checkpoints of the node's own evidence log, and anchoring the custody head in it.

The serving process does both at a fixed cadence (`anchor_and_sign`, every
`ANCHOR_SECONDS`, from `node.background`), whether or not anything happened: it appends
one anchor of the chain of custody (`node.backoffice.audit`), an evidence item of type
``CUSTODY_ANCHOR`` committing to the chain's head, and signs a checkpoint over the log
that now holds it, which the federation's witnesses cosign. So witnesses cosign custody
history too, and the times at which checkpoints appear say nothing about activity.

Why 15 minutes: custody entries written after the newest anchor are the only ones a
holder of the node's disk could rewrite unseen (they are protected by the signed head
alone), so the cadence bounds that window; shorter cadences would give witnesses finer
counts (below). What witnesses still learn: the log size at each checkpoint, so the number
of evidence items (reports, attachments, additions) committed in each 15-minute window,
minus the one anchor; not which kind, nor when within the window. Padding each window to a
fixed count would hide that too, at the cost of a log that grows without bound.

Staff with access to the evidence log may still ask for a checkpoint at once, and a bundle
export signs one when it needs a larger tree (`sign_if_grown`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from backup_evidence.leaves import ItemType
from node.backoffice import audit
from node.evidence import items
from node.evidence.checkpoints import StoredCheckpoint, maybe_checkpoint
from node.evidence.succession import current_signer

if TYPE_CHECKING:  # pragma: no cover - typing only
    from node.backoffice.audit import AuditLog
    from node.keyring import NodeKeys
    from node.storage.database import Database

ANCHOR_SECONDS = 900


def sign_if_grown(db: Database, keys: NodeKeys, now: int) -> StoredCheckpoint | None:
    """Sign and store a checkpoint of the whole log if it grew since the last one (in its
    own write transaction); None when there was nothing new to sign."""
    with db.write() as conn:
        return maybe_checkpoint(conn, current_signer(conn, keys.node_id, keys.checkpoint_key),
                                now)


def anchor_and_sign(db: Database, keys: NodeKeys, log: AuditLog,
                    now: int) -> StoredCheckpoint | None:
    """Append an anchor of the checked custody head to the evidence log and sign a
    checkpoint over it, in one write transaction. Raises `audit.CustodyBroken` (anchoring
    nothing) when the chain does not verify: a tampered chain must not be witnessed."""
    hour = now - now % 3600  # as checkpoints: a seized log tells times to the hour only
    with db.write() as conn:
        signer = current_signer(conn, keys.node_id, keys.checkpoint_key)
        seq, head, session_key = log.head_to_anchor(conn)
        digest = hashlib.sha256(audit.anchor_bytes(seq, head, session_key)).digest()
        (record,) = items.commit(conn, [(ItemType.CUSTODY_ANCHOR, hour, digest)])
        audit.record_anchor(conn, record.leaf_index, seq, head, session_key, hour,
                            record.salt)
        return maybe_checkpoint(conn, signer, now)
