"""Signing checkpoints of the node's own evidence log, with the node's identity key.

The serving process does it every few minutes when the log grew (`node.background`), and
staff with access to the evidence log may ask for it at once; both go through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.evidence.checkpoints import StoredCheckpoint, log_signer, maybe_checkpoint

if TYPE_CHECKING:  # pragma: no cover - typing only
    from node.keyring import NodeKeys
    from node.storage.database import Database


def sign_if_grown(db: Database, keys: NodeKeys, now: int) -> StoredCheckpoint | None:
    """Sign and store a checkpoint of the whole log if it grew since the last one (in its
    own write transaction); None when there was nothing new to sign."""
    signer = log_signer(keys.node_id, keys.identity)
    with db.write() as conn:
        return maybe_checkpoint(conn, signer, now)
