"""A node's role statement: the identity key vouching for one signing key per role.

C2SP signed-note asks that a key sign one kind of message only. A node's identity key is
its libp2p key (its peer id), the key members and witnesses are configured with; it signs
little else. Each kind of signature has its own key (`ROLES`): evidence checkpoints,
witness cosignatures, federation envelopes, the custody chain, bundle manifests. Whoever
knows the identity key learns the others from this statement, which the identity key
signs, and believes a role key in no other way.

The statement's bytes are its text then the 64-byte Ed25519 signature of
``DOMAIN || text``::

    backup.node/<node id>/roles
    checkpoint <generation> <hex public key>
    witness <generation> <hex public key>
    envelope <generation> <hex public key>
    custody <generation> <hex public key>
    manifest <generation> <hex public key>

one line per role in the order of `ROLES`, one generation for all. Generation 0 is the
identity key itself: material signed before role keys existed (checkpoints, bundles,
envelopes) names no statement and verifies with the identity key, as it always did.
Over the network and in bundles the bytes travel as standard base64 (`encode`, `decode`).

Pure: bytes in, keys out; `SignatureError` for anything else, whatever is wrong with it,
so a verifier cannot be steered by which check failed.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from crypto.errors import SignatureError
from crypto.keys import SigningKey, VerifyKey

ROLES = ("checkpoint", "witness", "envelope", "custody", "manifest")
DOMAIN = b"backup-role-keys-v1\n"
MAX_BYTES = 1024  # the text is under 500 bytes; bounds what a verifier reads
_NODE_ID = re.compile(r"[0-9a-f]{32}")
_LINE = re.compile(r"([a-z]+) ([1-9][0-9]{0,5}) ([0-9a-f]{64})")


@dataclass(frozen=True)
class RoleStatement:
    """A verified statement: `node_id`'s role keys of `generation`, and its bytes."""

    node_id: str
    generation: int
    keys: dict[str, VerifyKey]
    value: bytes

    def key(self, role: str) -> VerifyKey:
        return self.keys[role]

    def encode(self) -> str:
        return encode(self.value)


def text(node_id: str, keys: dict[str, VerifyKey], generation: int) -> bytes:
    """The text the identity key signs."""
    lines = [f"backup.node/{node_id}/roles"] + [
        f"{role} {generation} {keys[role].raw().hex()}" for role in ROLES]
    return ("\n".join(lines) + "\n").encode("ascii")


def verify(value: bytes, identity: VerifyKey, node_id: str | None = None) -> RoleStatement:
    """The statement in `value`, if `identity` signed it (and it is `node_id`'s, when
    given); `SignatureError` otherwise. Only the canonical text is accepted: the text is
    rendered again from what was parsed and must be byte for byte the same."""
    if len(value) > MAX_BYTES or len(value) < 64:
        raise SignatureError()
    body, signature = value[:-64], value[-64:]
    identity.verify(DOMAIN + body, signature)  # SignatureError
    try:
        lines = body.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise SignatureError() from None
    head = lines[0].removeprefix("backup.node/").removesuffix("/roles")
    if (_NODE_ID.fullmatch(head) is None or (node_id is not None and head != node_id)
            or len(lines) != len(ROLES) + 2):
        raise SignatureError()
    keys: dict[str, VerifyKey] = {}
    generations = set()
    for role, line in zip(ROLES, lines[1:-1], strict=True):
        match = _LINE.fullmatch(line)
        if match is None or match.group(1) != role:
            raise SignatureError()
        generations.add(int(match.group(2)))
        keys[role] = VerifyKey(bytes.fromhex(match.group(3)))
    if len(generations) != 1:
        raise SignatureError()
    (generation,) = generations
    if text(head, keys, generation) != body:
        raise SignatureError()
    return RoleStatement(head, generation, keys, bytes(value))


def sign(node_id: str, keys: dict[str, VerifyKey], generation: int,
         identity: SigningKey) -> bytes:
    """The statement's bytes: its text and the identity key's signature."""
    body = text(node_id, keys, generation)
    return body + identity.sign(DOMAIN + body)


def encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def decode(value: str) -> bytes:
    """The bytes of a statement as carried in base64; `SignatureError` if not canonical."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SignatureError() from None
    if encode(raw) != value or len(raw) > MAX_BYTES:
        raise SignatureError()
    return raw


def verify_encoded(value: str, identity: VerifyKey,
                   node_id: str | None = None) -> RoleStatement:
    """`verify` of a statement carried in base64."""
    return verify(decode(value), identity, node_id)
