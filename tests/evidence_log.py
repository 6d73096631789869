"""`EvidenceLog`: the evidence log of one `Database`, each write its own transaction, for
tests of the log store and checkpoints.

The node itself never needs this: it appends leaves in the transaction that stores their
items (`node.evidence.items.commit`) and signs checkpoints inside its own ``db.write()``
blocks, with the functions of `log_store` and `checkpoints` that this wraps.
"""

from __future__ import annotations

from collections.abc import Iterable

from crypto.checkpoint import NoteSigner
from node.evidence import checkpoints, log_store
from node.evidence.checkpoints import StoredCheckpoint
from node.evidence.log_store import ConsistencyProof, InclusionProof
from node.storage.database import Database


class EvidenceLog:
    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- writes, each in its own transaction --------------------------------------------------

    def append(self, leaf: bytes) -> int:
        """Append one leaf (its data, e.g. `EvidenceLeaf.encode()`); return its index."""
        return self.append_many([leaf]).start

    def append_many(self, leaves: Iterable[bytes]) -> range:
        """Append leaves in one transaction (all or none); return their indices."""
        with self._db.write() as conn:
            return log_store.append_leaves(conn, leaves)

    def append_hashes(self, hashed_leaves: Iterable[bytes]) -> range:
        """Append already hashed leaves in one transaction; return their indices."""
        with self._db.write() as conn:
            return log_store.append_leaf_hashes(conn, hashed_leaves)

    def maybe_checkpoint(self, signer: NoteSigner, now: int) -> StoredCheckpoint | None:
        """Sign a checkpoint if the log grew since the last one (`checkpoints.maybe_checkpoint`)."""
        with self._db.write() as conn:
            return checkpoints.maybe_checkpoint(conn, signer, now)

    # -- reads --------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return log_store.log_size(self._db.read())

    def root(self, size: int | None = None) -> bytes:
        return log_store.root_at(self._db.read(), size)

    def leaf_index(self, hashed_leaf: bytes) -> int | None:
        return log_store.leaf_index(self._db.read(), hashed_leaf)

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        return log_store.inclusion_proof(self._db.read(), index, size)

    def inclusion_proof_for(self, hashed_leaf: bytes, size: int | None = None
                            ) -> InclusionProof:
        return log_store.inclusion_proof_for(self._db.read(), hashed_leaf, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> ConsistencyProof:
        return log_store.consistency_proof(self._db.read(), size1, size2)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return checkpoints.latest_checkpoint(self._db.read())

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        return checkpoints.checkpoint_at(self._db.read(), size)

    def check(self) -> int:
        """Recompute the whole tree from its leaves (`log_store.check_tree`); O(n)."""
        return log_store.check_tree(self._db.read())
