"""Committing a case's evidence items to the log, and the record that lets them be proven.

Each item (the report as submitted, each attachment, each later addition) gets its leaf
appended *in the same transaction* that stores the item, so an item is never stored
without its commitment, nor a commitment without its item. Since issue 12 an item is
committed field by field (leaf version 2, `backup_evidence.disclosures`): one salted
disclosure per field, so that a court bundle can withhold contact details and still prove
the rest. The item's record -- its disclosures (salts and values), kind, time and leaf
index -- is kept encrypted with the case; items committed before issue 12 keep their
version-1 `EvidenceRecord` (one salt over the whole item).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from backup_evidence import disclosures as sd
from backup_evidence.leaves import EvidenceLeaf, ItemType, leaf_from_digest, new_salt
from node.evidence import log_store

RECOMMITS = "_recommits"
"""Names starting with "_" describe the item rather than the reporter's words and are
always disclosed: ``_recommits.leaf_index`` and ``_recommits.leaf_hash`` link a re-committed
report to its original version-1 leaf."""


@dataclass(frozen=True)
class EvidenceRecord:
    """A version-1 item: one salt over the SHA-256 of the whole content."""

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


@dataclass(frozen=True)
class DisclosedRecord:
    """A version-2 item: its subject and one disclosure per field."""

    item_type: ItemType
    received_at: int
    subject: str
    disclosures: tuple[bytes, ...]
    leaf_index: int

    def evidence_leaf(self) -> EvidenceLeaf:
        return sd.item_leaf(self.item_type, self.received_at, self.subject,
                            [sd.digest(d) for d in self.disclosures])

    def leaf(self) -> bytes:
        return self.evidence_leaf().encode()

    def fields(self) -> list[sd.Disclosure]:
        return [sd.parse(d) for d in self.disclosures]

    def value(self, name: str) -> sd.Scalar:
        for f in self.fields():
            if f.name == name:
                return f.value
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {"version": 2, "type": self.item_type.name.lower(),
                "type_code": int(self.item_type), "received_at": self.received_at,
                "subject": self.subject,
                "disclosures": [d.decode("utf-8") for d in self.disclosures],
                "leaf_index": self.leaf_index}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DisclosedRecord:
        return cls(ItemType(int(data["type_code"])), int(data["received_at"]),
                   str(data["subject"]),
                   tuple(d.encode("utf-8") for d in data["disclosures"]),
                   int(data["leaf_index"]))


Record = EvidenceRecord | DisclosedRecord


def record_from_json(data: dict[str, Any]) -> Record:
    if data.get("version") == 2:
        return DisclosedRecord.from_json(data)
    return EvidenceRecord.from_json(data)


@dataclass(frozen=True)
class NewItem:
    """An item to commit: its kind, receipt time, subject and fields (path, value)."""

    item_type: ItemType
    received_at: int
    subject: str
    fields: list[tuple[str, sd.Scalar]]


def commit(conn: sqlite3.Connection, items: list[tuple[ItemType, int, bytes]]
           ) -> list[EvidenceRecord]:
    """Version 1: append one leaf per (type, receipt time, content SHA-256) inside the
    caller's write transaction (kept for the log's own tests and tools; intake commits
    version 2 with `commit_items`)."""
    salts = [new_salt() for _ in items]
    leaves = [leaf_from_digest(t, at, salt, digest).encode()
              for (t, at, digest), salt in zip(items, salts, strict=True)]
    indices = log_store.append_leaves(conn, leaves)
    return [EvidenceRecord(t, at, salt, digest, index)
            for (t, at, digest), salt, index in zip(items, salts, indices, strict=True)]


def commit_items(conn: sqlite3.Connection, items: list[NewItem]) -> list[DisclosedRecord]:
    """Version 2: one fresh salt per field of each item, one leaf per item, appended inside
    the caller's write transaction; their records in the same order."""
    pending = []
    for item in items:
        names = [name for name, _ in item.fields]
        if len(set(names)) != len(names):
            raise sd.BadDisclosure("a field appears twice in one item")
        encoded = tuple(sd.new_disclosure(n, v).encode() for n, v in item.fields)
        pending.append((item, encoded))
    leaves = [sd.item_leaf(item.item_type, item.received_at, item.subject,
                           [sd.digest(d) for d in encoded]).encode()
              for item, encoded in pending]
    indices = log_store.append_leaves(conn, leaves)
    return [DisclosedRecord(item.item_type, item.received_at, item.subject, encoded, index)
            for (item, encoded), index in zip(pending, indices, strict=True)]


def report_fields(record: dict[str, Any]) -> list[tuple[str, sd.Scalar]]:
    """A stored report's fields, one per scalar and list element. Contact preferences are
    always four fields (null when not given), so the names of withheld fields do not tell
    whether the reporter left contact details."""
    data = dict(record)
    contact = data.get("contact") or {}
    data["contact"] = {k: contact.get(k) for k in ("method", "details", "safe_times",
                                                    "precautions")}
    return sd.flatten(data)


def attachment_fields(sha256_hex: str, size: int, mime: str | None,
                      filename: str | None) -> list[tuple[str, sd.Scalar]]:
    return [("file.sha256", sha256_hex), ("file.size", size), ("file.mime", mime),
            ("file.name", filename)]


def addition_fields(text: str, received_at: str) -> list[tuple[str, sd.Scalar]]:
    return [("text", text), ("received_at", received_at)]
