"""Bundles of version-2 items built from the verifier's own parts and a real Merkle tree,
signed checkpoint and witness cosignature (no node): what the verifier's property tests
change and check. Same layout as the node's export (`backup_evidence.bundle_format`):
format 3, the manifest signed by the manifest role key and the checkpoint by the
checkpoint role key that the identity-signed ``node-roles.txt`` binds."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from backup_evidence import disclosures as sd
from backup_evidence.bundle_format import (
    FORMAT,
    LEGACY_FORMATS,
    MANIFEST,
    MANIFEST_SIG,
    NODE_KEY,
    NODE_ROLES,
    checkpoint_path,
    manifest_message,
    node_key_text,
    proof_path,
)
from backup_evidence.leaves import ItemType
from crypto import merkle, role_statement
from crypto.checkpoint import Checkpoint, Cosigner, NoteSigner, sign_checkpoint
from crypto.keys import SigningKey

ORIGIN = "backup.example/test-node/evidence"
CASE = "0123456789abcdef0123456789abcdef"
NODE_ID = "fedcba9876543210fedcba9876543210"
COSIGNED_AT = 1_800_000_000


@dataclass
class Built:
    files: dict[str, bytes] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    node_key: SigningKey = field(default_factory=SigningKey.generate)
    witness: Cosigner = field(default_factory=lambda: Cosigner(
        "witness.example/w1", SigningKey.generate()))

    def role(self, role: str) -> SigningKey:
        """The node's `role` key (derived as a node derives it, `node.keyring`)."""
        return self.node_key.derive(f"backup-role/{role}/1".encode())

    def statement(self) -> bytes:
        return role_statement.sign(
            NODE_ID, {r: self.role(r).verify_key for r in role_statement.ROLES}, 1,
            self.node_key)

    def zip_bytes(self) -> bytes:
        manifest = dict(self.manifest)
        manifest["files"] = {p: hashlib.sha256(d).hexdigest() for p, d in self.files.items()
                             if not p.startswith("evidence/")}
        raw = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(MANIFEST, raw)
            # bundles from before role keys were signed by the node (identity) key
            key = (self.node_key if manifest["format"] in LEGACY_FORMATS
                   else self.role("manifest"))
            z.writestr(MANIFEST_SIG, key.sign(manifest_message(raw)).hex() + "\n")
            for p, d in sorted(self.files.items()):
                z.writestr(p, d)
        return buf.getvalue()


def build(items: list[tuple[list[sd.Disclosure], set[str]]], subject: str = "report:" + CASE,
          filler: int = 3) -> Built:
    """A bundle of one report whose items are `items` (its disclosures, and the names
    disclosed), after `filler` unrelated leaves."""
    out = Built()
    tree = merkle.MemoryTree()
    for i in range(filler):
        tree.append(bytes([i]) * 42)
    leaves = []
    for fields, _ in items:
        leaf = sd.item_leaf(ItemType.REPORT, 1_700_000_000, subject,
                            [f.digest for f in fields])
        leaves.append((tree.append(leaf.encode()), leaf))
    checkpoint = Checkpoint(ORIGIN, tree.size, merkle.root_hash(tree))
    note = sign_checkpoint(checkpoint, NoteSigner(ORIGIN, out.role("checkpoint")))
    note = note.with_signature(out.witness.cosign_at(checkpoint, COSIGNED_AT))
    out.files[checkpoint_path(tree.size)] = note.encode()
    out.files[NODE_KEY] = node_key_text(ORIGIN, out.node_key.verify_key)
    out.files[NODE_ROLES] = role_statement.encode(out.statement()).encode() + b"\n"
    entries = []
    for n, ((fields, shown), (index, leaf)) in enumerate(zip(items, leaves, strict=True), 1):
        path = f"evidence/{n:03d}-report.jsonl"
        out.files[path] = b"".join(f.encode() + b"\n" for f in fields if f.name in shown)
        out.files[proof_path(n)] = json.dumps({
            "leaf_index": index, "tree_size": tree.size, "leaf": leaf.encode().hex(),
            "leaf_hash": leaf.leaf_hash.hex(),
            "inclusion_path": [h.hex() for h in merkle.inclusion_proof(tree, index)]}).encode()
        entries.append({"version": 2, "path": path, "proof": proof_path(n), "type": "report",
                        "type_code": 1, "received_at": 1_700_000_000, "subject": subject,
                        "leaf_index": index,
                        "withheld": [{"name": f.name, "digest": f.digest.hex(),
                                      "why": "default"} for f in fields
                                     if f.name not in shown]})
    out.manifest = {"format": FORMAT, "case_id": CASE, "node_id": NODE_ID, "log_origin": ORIGIN,
                    "checkpoint": checkpoint_path(tree.size), "tree_size": tree.size,
                    "items": entries}
    return out
