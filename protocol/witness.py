"""Witnessed checkpoints: a node pushes its evidence log's checkpoint, a witness cosigns it.

The checkpoint is a C2SP `tlog-checkpoint` signed note (c2sp.org/tlog-checkpoint,
c2sp.org/signed-note), carried as text. The push also carries the consistency proof
(RFC 9162 §2.1.4) from the size the witness last cosigned, as in c2sp.org/tlog-witness's
`add-checkpoint` request ("old <size>" plus proof hashes). The witness answers with a
C2SP `tlog-cosignature` line (c2sp.org/tlog-cosignature) or a refusal; a refusal for an
inconsistent checkpoint is the fork alarm of issue 5.

Only the *shape* is checked here (origin, size, root hash, signature lines, proof length).
Verifying the note's signature and the proof is Merkle math over bytes and lives in `crypto/`
(the evidence-integrity issue); the witness service calls it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from protocol.encoding import MAX_SAFE_INT
from protocol.message import Count, HashHex, Message, ShortText

# A note's text plus a handful of signature lines is well under 1 KiB; 16 KiB leaves room for
# extension lines and many cosignatures while bounding what a witness parses.
MAX_NOTE_CHARS = 16_384
# RFC 9162 §2.1.4.1: a consistency proof has at most ~2·log2(size) nodes; 2**63 leaves < 128.
MAX_PROOF_HASHES = 128
# c2sp.org/tlog-cosignature: key ID (4) ‖ timestamp (8, big-endian) ‖ Ed25519 signature (64).
COSIGNATURE_BYTES = 4 + 8 + 64
# c2sp.org/signed-note: a signature line is an em dash, a space, the key name (no spaces,
# no "+"), a space, and base64 of key ID ‖ signature.
_SIGNATURE_LINE = re.compile(r"\u2014 ([^\s+]+) ([A-Za-z0-9+/]+={0,2})")
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")

OriginLine = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
]


@dataclass(frozen=True)
class CheckpointSummary:
    """What the C2SP checkpoint body says (its signatures are not verified here)."""

    origin: str
    size: int
    root_hash: bytes
    signer_names: tuple[str, ...]


def _b64(value: str) -> bytes:
    raw = base64.b64decode(value, validate=True)
    if base64.b64encode(raw).decode("ascii") != value:
        raise ValueError("not canonical base64")
    return raw


def parse_signature_line(line: str) -> tuple[str, bytes]:
    """(key name, key ID ‖ signature bytes) of one signed-note signature line."""
    match = _SIGNATURE_LINE.fullmatch(line)
    if match is None:
        raise ValueError("not a signed-note signature line")
    try:
        raw = _b64(match.group(2))
    except (binascii.Error, ValueError):
        raise ValueError("signature line is not canonical base64") from None
    if len(raw) < 5:  # 4-byte key ID and at least one byte of signature
        raise ValueError("signature line too short")
    return match.group(1), raw


def parse_checkpoint_note(note: str) -> CheckpointSummary:
    """Parse a C2SP checkpoint signed note. Raises `ValueError` on any deviation."""
    if len(note) > MAX_NOTE_CHARS or not note.endswith("\n"):
        raise ValueError("a signed note ends with a newline and is at most 16 KiB")
    split = note.rfind("\n\n")  # c2sp.org/signed-note: the text ends at the last blank line
    if split < 0:
        raise ValueError("a signed note has a blank line before its signatures")
    body_lines = note[: split + 1].split("\n")[:-1]
    signature_lines = note[split + 2 :].split("\n")[:-1]
    if len(body_lines) < 3:
        raise ValueError("a checkpoint has an origin, a size and a root hash line")
    origin, size_line, root_line = body_lines[:3]
    if not origin or any(ch < " " or ch == "\x7f" for ch in origin):
        raise ValueError("empty or invalid origin line")
    if _SIZE.fullmatch(size_line) is None or int(size_line) > MAX_SAFE_INT:
        raise ValueError("tree size is not a decimal without leading zeros")
    try:
        root_hash = _b64(root_line)
    except (binascii.Error, ValueError):
        raise ValueError("root hash is not canonical base64") from None
    if len(root_hash) != 32:
        raise ValueError("root hash is not 32 bytes (SHA-256, RFC 9162 §2.1.1)")
    if any(not line for line in body_lines[3:]):
        raise ValueError("empty extension line")
    if not signature_lines:
        raise ValueError("a signed note has at least one signature")
    names = tuple(parse_signature_line(line)[0] for line in signature_lines)
    return CheckpointSummary(origin, int(size_line), root_hash, names)


class CheckpointPush(Message):
    """A node's latest signed checkpoint, and the proof that it extends the witnessed one."""

    TYPE = "checkpoint.push"
    VERSION = 1

    checkpoint: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NOTE_CHARS)]
    # The size of the checkpoint this witness last cosigned for the log, as the node knows it;
    # None for a first push. The proof is from that size to the new one.
    old_size: Count | None = None
    consistency_proof: tuple[HashHex, ...] = Field(default=(), max_length=MAX_PROOF_HASHES)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        size = parse_checkpoint_note(self.checkpoint).size
        if self.old_size is None:
            if self.consistency_proof:
                raise ValueError("a consistency proof needs the old size it starts from")
            return self
        if self.old_size > size:
            raise ValueError("old_size is larger than the checkpoint's size")
        # RFC 9162 §2.1.4.1: the proof from size 0, or to the same size, is empty.
        trivial = self.old_size in (0, size)
        if trivial and self.consistency_proof:
            raise ValueError("the consistency proof from this old size is empty")
        if not trivial and not self.consistency_proof:
            raise ValueError("a consistency proof is required from this old size")
        return self

    @property
    def summary(self) -> CheckpointSummary:
        return parse_checkpoint_note(self.checkpoint)


RefusalReason = Literal[
    "inconsistent",  # the proof fails: a fork; the witness keeps both and raises an alarm
    "old_size_mismatch",  # the witness last cosigned another size (tlog-witness's 409)
    "smaller_tree",  # the checkpoint is older than one already cosigned
    "unknown_log",  # the witness does not witness this origin
    "bad_checkpoint_signature",
    "not_a_member",
    "malformed",
]


class CosignatureResponse(Message):
    """A witness's answer to a `CheckpointPush`: a cosignature, or a refusal and why."""

    TYPE = "checkpoint.cosignature"
    VERSION = 1

    origin: OriginLine
    size: Count
    outcome: Literal["cosigned", "refused"]
    cosignature: Annotated[str, StringConstraints(max_length=512)] | None = None
    refusal: RefusalReason | None = None
    # The size the witness last cosigned for this origin, so the node can build the right
    # proof (c2sp.org/tlog-witness answers a wrong old size with its own).
    witnessed_size: Count | None = None
    detail: ShortText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.outcome == "cosigned":
            if self.cosignature is None or self.refusal is not None:
                raise ValueError("a cosigned outcome carries a cosignature and no refusal")
            _, raw = parse_signature_line(self.cosignature)
            if len(raw) != COSIGNATURE_BYTES:
                raise ValueError("a tlog-cosignature is key ID, timestamp and signature")
        elif self.refusal is None or self.cosignature is not None:
            raise ValueError("a refusal carries a reason and no cosignature")
        return self


# -- after a restore: what a witness cosigned, and a log's successor (issue 21) -------------


class WitnessedQuery(Message):
    """A node asks a witness for the largest checkpoint of its own log `origin` that the
    witness cosigned: a node restored from a backup asks this before it signs anything."""

    TYPE = "checkpoint.witnessed_query"
    VERSION = 1

    origin: OriginLine


class WitnessedCheckpoint(Message):
    """The answer to a `WitnessedQuery`: the log's checkpoint note the witness last cosigned,
    with its cosignature line (None: it cosigned nothing of that log), and the origin the
    witness now follows for that node (another one once it recorded a successor)."""

    TYPE = "checkpoint.witnessed"
    VERSION = 1

    origin: OriginLine
    note: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NOTE_CHARS)] | None = None
    current_origin: OriginLine

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.note is not None and parse_checkpoint_note(self.note).origin != self.origin:
            raise ValueError("the note is a checkpoint of another log")
        return self


class LogSuccession(Message):
    """A node's successor statement (`backup_evidence.succession`): its log continues under
    a new origin. Answered with `DeliveryAck`: accepted (recorded), duplicate, or rejected
    with ``bad_statement``, ``unknown_log``, ``smaller_tree`` or ``inconsistent``."""

    TYPE = "checkpoint.succession"
    VERSION = 1

    statement: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
