"""Committing a case's evidence items to the log, and the record that lets them be proven.

Each item (the report as submitted, each attachment, each later addition) gets a fresh
salt and a leaf appended *in the same transaction* that stores the item, so an item is
never stored without its commitment, nor a commitment without its item. The item's
`EvidenceRecord` -- type, receipt time, salt, content SHA-256, leaf index -- is kept
encrypted with the case (it is what a court bundle discloses with the reporter's consent).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from backup_evidence.leaves import ItemType, leaf_from_digest, new_salt
from node.evidence import log_store


@dataclass(frozen=True)
class EvidenceRecord:
    item_type: ItemType
    received_at: int
    salt: bytes
    sha256: bytes
    leaf_index: int

    def leaf(self) -> bytes:
        return leaf_from_digest(self.item_type, self.received_at, self.salt,
                                self.sha256).encode()

    def to_json(self) -> dict[str, Any]:
        return {"type": self.item_type.name.lower(), "type_code": int(self.item_type),
                "received_at": self.received_at, "salt": self.salt.hex(),
                "sha256": self.sha256.hex(), "leaf_index": self.leaf_index}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvidenceRecord:
        return cls(ItemType(int(data["type_code"])), int(data["received_at"]),
                   bytes.fromhex(data["salt"]), bytes.fromhex(data["sha256"]),
                   int(data["leaf_index"]))


def commit(conn: sqlite3.Connection, items: list[tuple[ItemType, int, bytes]]
           ) -> list[EvidenceRecord]:
    """Append one leaf per (type, receipt time, content SHA-256) inside the caller's write
    transaction; return their records in the same order."""
    salts = [new_salt() for _ in items]
    leaves = [leaf_from_digest(t, at, salt, digest).encode()
              for (t, at, digest), salt in zip(items, salts, strict=True)]
    indices = log_store.append_leaves(conn, leaves)
    return [EvidenceRecord(t, at, salt, digest, index)
            for (t, at, digest), salt, index in zip(items, salts, indices, strict=True)]
