"""The evidence log (issue 4): salted commitments to every evidence item in an append-only
RFC 9162 Merkle tree kept in the node's SQLite database, and signed C2SP checkpoints over it.

* `leaves`: the leaf format (what one item commits to) and how to compute it;
* `log_store`: the tree in SQLite, functions over a connection, for use inside a caller's
  write transaction; proofs with O(log n) reads;
* `checkpoints`: signing, storing and reading checkpoints;
* `log`: `EvidenceLog`, the same over a `Database`, each write its own transaction.
"""

from node.evidence.checkpoints import (
    StoredCheckpoint,
    latest_checkpoint,
    log_origin,
    log_signer,
    log_verifier,
    maybe_checkpoint,
)
from node.evidence.errors import (
    BadLeaf,
    EvidenceError,
    LeafExists,
    LogCorrupted,
    NotInTransaction,
    OutOfRange,
)
from node.evidence.leaves import (
    EvidenceLeaf,
    ItemType,
    leaf_from_bytes,
    leaf_from_digest,
    new_salt,
)
from node.evidence.log import EvidenceLog
from node.evidence.log_store import (
    ConsistencyProof,
    InclusionProof,
    append_leaf_hashes,
    append_leaves,
)

__all__ = [
    "BadLeaf",
    "ConsistencyProof",
    "EvidenceError",
    "EvidenceLeaf",
    "EvidenceLog",
    "InclusionProof",
    "ItemType",
    "LeafExists",
    "LogCorrupted",
    "NotInTransaction",
    "OutOfRange",
    "StoredCheckpoint",
    "append_leaf_hashes",
    "append_leaves",
    "latest_checkpoint",
    "leaf_from_bytes",
    "leaf_from_digest",
    "log_origin",
    "log_signer",
    "log_verifier",
    "maybe_checkpoint",
    "new_salt",
]
