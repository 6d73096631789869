"""The leaf format of the evidence log: one fixed-width commitment per evidence item. The
node computes leaves with it when it stores an item, and the offline verifier recomputes
them from a bundle with it: there is no other copy.

Two versions share one layout of 42 bytes and differ in what the commitment opens to:

* version 1 (items committed before issue 12): the whole item under one salt, below;
* version 2 (issue 12): a subject (the report, or the node itself) and a set of per-field
  salted disclosures, each of which a bundle may reveal or withhold on its own
  (`backup_evidence.disclosures` defines the disclosures and the version-2 commitment).

A leaf is 42 bytes, every field fixed-width, big-endian::

    leaf       = version (1 byte, 0x01 or 0x02)
              || item type (1 byte, `ItemType`)
              || receipt time (8 bytes, unsigned seconds since 1970-01-01T00:00:00Z)
              || commitment (32 bytes)

    commitment (version 1) = SHA-256(DOMAIN || salt (32 bytes) || SHA-256(content) (32 bytes))
    DOMAIN                 = b"BackUp evidence commitment v1" || 0x00   (30 bytes, fixed)
    commitment (version 2) = see `backup_evidence.disclosures` (its own domain string)

and the Merkle log stores ``SHA-256(0x00 || leaf)`` (RFC 9162 §2.1.1, `crypto.merkle`).

Why this shape:

* Hiding. ``SHA-256(content)`` alone would be an oracle: anyone holding a leaf could test
  guesses ("is it this photo?", "is the narrative one of these 10,000 templates?"). The
  256-bit random salt, known only to those who can open the case (the caller keeps it
  encrypted with the case, never in the log), makes the commitment say nothing about the
  content: a hiding commitment, as CONIKS commits to key bindings with a random value
  (Melara et al., USENIX Security 2015, §3). 256 bits keeps guessing the salt as hard as
  inverting SHA-256. Two leaves of the same content with different salts are unrelated.
* Recomputable by a verifier with no BackUp software: a court expert needs the file, its
  salt, its type code and its receipt time, then ``sha256sum`` and a few bytes of
  concatenation. Hashing the content first (rather than salting the content itself) means
  the node can hash an attachment while streaming it in, and the standard file SHA-256 in
  a bundle manifest is an input of the leaf.
* Unambiguous. Every field has a fixed width, so no two different (version, type, time,
  commitment) give the same bytes, and no two (salt, digest) give the same commitment
  input; the domain string keeps the commitment from being read as any other SHA-256 the
  node computes. A new layout or commitment gets a new version byte (version 2 did);
  new item types need none.
* What the log itself reveals. The log tables keep only leaf *hashes*, which reveal
  nothing (not even the type or time): the leaf's fields live in the encrypted case
  record and, with the reporter's consent, in a court bundle. When a case is deleted,
  its salt goes with it and its leaf stays in the log, unlinkable to anything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import IntEnum

from crypto.merkle import leaf_hash as merkle_leaf_hash

VERSION = 1
"""Version 1: the commitment opens to one salt and the SHA-256 of the whole item."""
VERSION_DISCLOSURES = 2
"""Version 2: the commitment opens to a subject and a set of disclosure digests."""
VERSIONS = (VERSION, VERSION_DISCLOSURES)


class BadLeaf(ValueError):
    """A leaf, salt, digest, type or time that does not fit the format. The message holds
    public values only (sizes, versions, type codes), never content, salts or leaf data."""

SALT_SIZE = 32
"""256-bit salts (a published leaf must not let anyone test guesses of the content)."""

DIGEST_SIZE = 32
DOMAIN = b"BackUp evidence commitment v1\x00"
LEAF_SIZE = 1 + 1 + 8 + 32
_MAX_TIME = 2**64 - 1


class ItemType(IntEnum):
    """What an evidence item is; its code is one byte of the leaf. 0x00 is never valid, so
    an all-zero leaf is not a leaf; codes 0x06 to 0xFF are free for new kinds of evidence
    (e.g. expert shares, imports, or an item about the node itself such as an
    anchor of its custody log): adding one changes no width, so needs no new version. In
    version 2 the subject says whose item it is (a report, or the node)."""

    REPORT = 0x01
    """The report as submitted. v1: its canonical JSON (RFC 8785) bytes; v2: one disclosure
    per field and per list element."""
    ATTACHMENT = 0x02
    """An attachment. v1: the original file bytes as received, before any encryption; v2:
    disclosures of the file's SHA-256, size, type and name, bound to the report."""
    ADDITION = 0x03
    """Something the reporter added later with their receipt. v1: its stored UTF-8 bytes;
    v2: a disclosure of its text, bound to the report."""
    CUSTODY_ANCHOR = 0x04
    """A node-level item, no report's: the head of the node's chain of custody,
    ``b"backup-custody-anchor-v1" || seq (8 bytes) || head hash (32) || session public
    key (32)``, appended at a fixed cadence so that witnesses cosign custody history."""
    OPINION = 0x05
    """An expert's signed opinion about a report (issue 16), version 2 only: disclosures of
    its kind, text, the statement the expert signed and the signature, and of its attached
    file's SHA-256, size and type if it has one (`backup_evidence.opinions`)."""


def new_salt() -> bytes:
    """A fresh 256-bit salt from the operating system's CSPRNG, one per item."""
    return secrets.token_bytes(SALT_SIZE)


def content_digest(content: bytes) -> bytes:
    """SHA-256 of an item's content (hash large files incrementally with `hashlib.sha256`)."""
    return hashlib.sha256(content).digest()


def commitment(salt: bytes, content_sha256: bytes) -> bytes:
    """``SHA-256(DOMAIN || salt || SHA-256(content))``."""
    _check_bytes(salt, SALT_SIZE, "salt")
    _check_bytes(content_sha256, DIGEST_SIZE, "content digest")
    return hashlib.sha256(DOMAIN + salt + content_sha256).digest()


@dataclass(frozen=True)
class EvidenceLeaf:
    """A decoded leaf: what the log commits to for one evidence item."""

    item_type: ItemType
    received_at: int
    commitment: bytes
    version: int = VERSION

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise BadLeaf(f"leaf version {self.version} is not one of {VERSIONS}")
        if not isinstance(self.item_type, ItemType):
            raise BadLeaf("an item type is an ItemType")
        if type(self.received_at) is not int or not 0 <= self.received_at <= _MAX_TIME:
            raise BadLeaf("a receipt time is whole seconds in [0, 2**64 - 1]")
        _check_bytes(self.commitment, DIGEST_SIZE, "commitment")

    def encode(self) -> bytes:
        """The 42 leaf bytes that the log hashes (module docstring)."""
        return (bytes((self.version, self.item_type)) + self.received_at.to_bytes(8, "big")
                + self.commitment)

    @property
    def leaf_hash(self) -> bytes:
        """``SHA-256(0x00 || leaf)``: what the log stores and proofs are about."""
        return merkle_leaf_hash(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> EvidenceLeaf:
        """Read leaf bytes, e.g. from a bundle; refuses other versions and unknown types."""
        if not isinstance(data, bytes) or len(data) != LEAF_SIZE:
            raise BadLeaf(f"a leaf is {LEAF_SIZE} bytes")
        if data[0] not in VERSIONS:
            raise BadLeaf(f"leaf version {data[0]} is not one of {VERSIONS}")
        try:
            item_type = ItemType(data[1])
        except ValueError:
            raise BadLeaf(f"unknown item type {data[1]:#04x}") from None
        return cls(item_type, int.from_bytes(data[2:10], "big"), data[10:], data[0])

    def commits_to(self, salt: bytes, content_sha256: bytes) -> bool:
        """Whether this version-1 leaf's commitment opens to ``salt`` and the content's
        SHA-256 (constant-time comparison)."""
        return (self.version == VERSION
                and hmac.compare_digest(self.commitment, commitment(salt, content_sha256)))


def leaf_from_digest(item_type: ItemType, received_at: int, salt: bytes,
                     content_sha256: bytes) -> EvidenceLeaf:
    """The leaf of an item whose content was hashed elsewhere (e.g. while streaming)."""
    return EvidenceLeaf(item_type, received_at, commitment(salt, content_sha256))


def leaf_from_bytes(item_type: ItemType, received_at: int, salt: bytes,
                    content: bytes) -> EvidenceLeaf:
    """The leaf of an item from its content bytes."""
    return leaf_from_digest(item_type, received_at, salt, content_digest(content))


def _check_bytes(value: object, size: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != size:
        raise BadLeaf(f"a {what} is {size} bytes")
