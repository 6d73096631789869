"""The court bundle's format (``backup-evidence-bundle/2``): what the node's export writes
and `backup_evidence.verify` reads, defined once.

A bundle is one ZIP a lawyer can hand to a court::

    manifest.json             case id, node, log origin, every item and the SHA-256 of every
                              file outside evidence/
    manifest.sig              Ed25519 signature of manifest.json by the node's manifest role
                              key (hex; by its identity key before format 3), over
                              `MANIFEST_SIG_DOMAIN` || manifest.json
    evidence/NAME.jsonl       for an item committed field by field (leaf version 2,
                              `backup_evidence.disclosures`): its disclosed fields, one
                              disclosure per line, each ending in "\n"
    evidence/NAME.EXT         an attachment's file, byte for byte, when it is disclosed
                              (its "file.sha256" disclosure binds it)
    evidence/NAME.txt|.EXT    an item committed whole (leaf version 1), when disclosed
    proofs/item-NNN.json      leaf_index, tree_size, leaf, leaf_hash, inclusion_path (RFC 9162)
    checkpoints/checkpoint-SIZE.txt   the signed checkpoint (C2SP signed note) the proofs use,
                              with the cosignatures of the witnesses that cosigned it
    checkpoints/checkpoint-SIZE.tsr   if the node has one: an RFC 3161 TimeStampToken (DER)
                              over the checkpoint's text
    node-key.txt              the node's public key (vkey form, then ``ed25519:`` raw hex): its
                              identity key, the one members and witnesses know it by
    node-roles.txt            (format 3) the node's role statement (`crypto.role_statement`,
                              base64): its role keys, signed by that identity key; the
                              manifest key and the checkpoint key are taken from it
    experts/credential-SERIAL.json    (issue 16) for each expert's signed opinion: the
                              expert's credential, countersigned by the observatory
    experts/observatory-key.txt       the observatory's key that countersigned them
                              (``ed25519:`` raw hex; the manifest names it)
    custody.json, consent.json        the case's chain-of-custody excerpt and consent record
    summary.html              a human-readable account for a lawyer without tools

Each manifest item has: version (1 or 2), type, type_code, received_at (the node's clock:
asserted, not proven), leaf_index, proof; version 2 adds subject ("report:ID" or
"node:ID"), path (its .jsonl, or null when nothing of it is disclosed), disclosed (names),
withheld (name, digest, why: the digests complete the committed set), file (for a
disclosed attachment or opinion file), credential (for an opinion) and, for a report
re-committed from version 1, recommitted (time, original leaf position and receipt time).
Version 1 has path, salt, sha256 and size, or path null and withheld_item true when only
its leaf is shown.

The evidence files are bound to the log by their leaves (`backup_evidence.leaves`); every
other file by its SHA-256 in the signed manifest. Changing any byte breaks one or the other.
Bundles of format 1 (before issue 12: every item whole) still verify.
"""

from __future__ import annotations

from crypto.checkpoint import ED25519, encode_vkey
from crypto.keys import VerifyKey

FORMAT = "backup-evidence-bundle/3"
LEGACY_FORMATS = ("backup-evidence-bundle/1", "backup-evidence-bundle/2")
"""Bundles made before role keys (issue 13): everything in them is signed by the node key."""
FORMATS = (*LEGACY_FORMATS, FORMAT)
"""What a verifier reads: format 1 bundles (every item whole) and format 2 bundles (before
role keys) stay verifiable."""
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
NODE_KEY = "node-key.txt"
NODE_ROLES = "node-roles.txt"
OBSERVATORY_KEY = "experts/observatory-key.txt"
"""The observatory's key, which countersigned the credentials of the bundle's opinions."""
MANIFEST_SIG_DOMAIN = b"backup-evidence-manifest-v1\n"
MAX_MEMBER_BYTES = 2 * 1024 * 1024 * 1024
"""The largest file a verifier reads from a bundle (a ZIP can claim anything)."""


def manifest_message(manifest_bytes: bytes) -> bytes:
    """What ``manifest.sig`` signs."""
    return MANIFEST_SIG_DOMAIN + manifest_bytes


def proof_path(n: int) -> str:
    """The proof of the `n`th item (from 1)."""
    return f"proofs/item-{n:03d}.json"


def checkpoint_path(size: int) -> str:
    return f"checkpoints/checkpoint-{size}.txt"


def timestamp_path(size: int) -> str:
    return f"checkpoints/checkpoint-{size}.tsr"


def node_key_text(log_origin: str, key: VerifyKey) -> bytes:
    """``node-key.txt``: the key as a C2SP vkey (named after the log's origin), then as
    ``ed25519:`` and its raw hex; a verifier reads the last line."""
    vkey = encode_vkey(log_origin, ED25519, key)
    return f"{vkey}\ned25519:{key.raw().hex()}\n".encode()
