"""Log succession: a node's evidence log continued under a new origin (issue 21).

A node restored from a backup older than the largest checkpoint its witnesses cosigned has
lost the end of its log: signing on would fork it (two trees of the same origin that cannot
both be true). Instead its administrator starts a *new* origin and the node signs a
**successor statement** with its log key, naming the old origin, the largest size and root
of the old log that any witness cosigned (the end of the old log as the world knows it) and
the new origin. Witnesses record it and accept checkpoints of the new origin from then on;
a court bundle signed under the new origin carries the chain of statements from the node's
first origin, and the verifier follows it (`follow`).

The statement is a C2SP signed note (c2sp.org/signed-note) signed by the node's Ed25519 log
key (its checkpoint role key; the identity key before role keys) under the *old* origin's
name, the key name its checkpoints carry, so whoever checks that log's checkpoints checks it
with the same keys. Its text::

    backup.log-successor/v1
    <old origin>
    <old size, decimal>
    <old root hash, base64>
    <new origin>

It cannot be read as a checkpoint (a checkpoint's second line is a decimal size), and a
checkpoint cannot be read as a statement (the first line differs).

Origins: the first log of node ``ID`` is ``backup.node/ID/evidence``; its successors are
``backup.node/ID/evidence/2``, ``/3``...: the new origin is always the next one, so a
statement cannot skip or reuse one.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from crypto.checkpoint import Ed25519Verifier, NoteSigner, SignedNote, open_note, sign_note
from crypto.errors import CryptoError
from crypto.keys import SigningKey, VerifyKey

HEADER = "backup.log-successor/v1"
MAX_STATEMENT_BYTES = 4096
_ORIGIN = re.compile(r"backup\.node/([0-9a-z][0-9a-z_-]{0,63})/evidence(?:/([1-9][0-9]{0,8}))?",
                     re.ASCII)
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}", re.ASCII)
_MAX_SIZE = 2**63 - 1


class SuccessionError(ValueError):
    """A successor statement that does not parse, verify or follow on."""


def origin_parts(origin: str) -> tuple[str, int]:
    """(node id, generation) of an evidence log origin: 1 for ``backup.node/ID/evidence``,
    n for ``backup.node/ID/evidence/n`` (n >= 2). Raises `SuccessionError` otherwise."""
    match = _ORIGIN.fullmatch(origin) if isinstance(origin, str) else None
    if match is None or match.group(2) == "1":
        raise SuccessionError("not the origin of a node's evidence log")
    return match.group(1), int(match.group(2) or 1)


def first_origin(node_id: str) -> str:
    """The origin of a node's first evidence log."""
    origin = f"backup.node/{node_id}/evidence"
    origin_parts(origin)
    return origin


def next_origin(origin: str) -> str:
    """The origin that succeeds `origin`."""
    node_id, generation = origin_parts(origin)
    return f"{first_origin(node_id)}/{generation + 1}"


@dataclass(frozen=True)
class SuccessorStatement:
    old_origin: str
    old_size: int
    old_root: bytes
    new_origin: str

    def __post_init__(self) -> None:
        if type(self.old_size) is not int or not 0 <= self.old_size <= _MAX_SIZE:
            raise SuccessionError("the old size is a 63-bit unsigned integer")
        if not isinstance(self.old_root, bytes) or len(self.old_root) != 32:
            raise SuccessionError("the old root hash is 32 bytes (SHA-256)")
        if next_origin(self.old_origin) != self.new_origin:
            raise SuccessionError("the new origin must be the one that follows the old one")

    @property
    def node_id(self) -> str:
        return origin_parts(self.old_origin)[0]

    def text(self) -> str:
        lines = (HEADER, self.old_origin, str(self.old_size),
                 base64.b64encode(self.old_root).decode("ascii"), self.new_origin)
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse_text(cls, text: str) -> SuccessorStatement:
        lines = text.split("\n")
        if len(lines) != 6 or lines[5] != "" or lines[0] != HEADER:
            raise SuccessionError("not a successor statement")
        _, old_origin, size, root, new_origin, _ = lines
        if not _DECIMAL.fullmatch(size):
            raise SuccessionError("the old size is a decimal without leading zeroes")
        try:
            raw = base64.b64decode(root, validate=True)
        except (binascii.Error, ValueError):
            raise SuccessionError("the old root is not base64") from None
        if base64.b64encode(raw).decode("ascii") != root:
            raise SuccessionError("the old root is not canonical base64")
        return cls(old_origin, int(size), raw, new_origin)

    def sign(self, key: SigningKey) -> str:
        """The signed statement (signed-note text), signed under the old origin's name."""
        return sign_note(self.text(), NoteSigner(self.old_origin, key)).encode().decode("utf-8")


def open_statement(note: str, log_keys: VerifyKey | Sequence[VerifyKey]) -> SuccessorStatement:
    """The statement `note` holds, once its signature by one of `log_keys` under the old
    origin's name is checked: the keys that check the old origin's checkpoints (the node's
    checkpoint role key, or its identity key for material from before role keys). Raises
    `SuccessionError` for anything else."""
    keys = [log_keys] if isinstance(log_keys, VerifyKey) else list(log_keys)
    if not isinstance(note, str) or len(note.encode("utf-8")) > MAX_STATEMENT_BYTES:
        raise SuccessionError("a successor statement is a short signed note")
    try:
        parsed = SignedNote.parse(note.encode("utf-8"))
        statement = SuccessorStatement.parse_text(parsed.text)
        verifiers = [Ed25519Verifier(statement.old_origin, key) for key in keys]
        opened = open_note(note.encode("utf-8"), verifiers)
    except CryptoError:
        raise SuccessionError("the successor statement's signature does not verify") from None
    if not any(opened.is_signed_by(v) for v in verifiers):
        raise SuccessionError("the successor statement is not signed by the log's key")
    return statement


def follow(statements: Sequence[str], log_keys: VerifyKey | Sequence[VerifyKey],
           node_id: str) -> str:
    """Follow a chain of signed statements from the first origin of `node_id`; return the
    origin it leads to (the first origin itself for an empty chain). Each statement must be
    signed by one of `log_keys` and start where the previous one ended."""
    origin = first_origin(node_id)
    for note in statements:
        statement = open_statement(note, log_keys)
        if statement.old_origin != origin:
            raise SuccessionError(f"a statement starts at {statement.old_origin}, "
                                  f"not at {origin}")
        origin = statement.new_origin
    return origin
