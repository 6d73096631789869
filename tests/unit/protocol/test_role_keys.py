"""Issue 13, item 5: one key per kind of signature, believed only through the
identity-signed role statement (`crypto.role_statement`).

Envelopes signed by the envelope role key carry the statement; a verifier that knows the
sender's identity key (from its membership) checks identity -> statement -> envelope key.
The witness decision takes the checkpoint role key the statement binds, and still takes
checkpoints signed by the identity key (generation 0). Each signature, and the statement,
is tested with a flipped bit; a substituted role key is refused; the statement's parser
is fuzzed.
"""

from __future__ import annotations

import base64
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import role_statement
from crypto.checkpoint import Checkpoint, Cosigner, NoteSigner, sign_checkpoint
from crypto.errors import SignatureError
from crypto.keys import SigningKey, VerifyKey
from crypto.merkle import MemoryTree, root_hash
from protocol import errors
from protocol.delivery import DeliveryAck
from protocol.envelope import Envelope, role_key_of, seal, verify_frame
from protocol.witness import CheckpointPush
from protocol.witnessing import Cosign, Refuse, evidence_origin, witness, witness_name

NOW = 1_800_000_000
FAST = settings(max_examples=60, deadline=None)


class RoleNode:
    """A node with an identity key and its role keys, derived as `node.keyring` does."""

    def __init__(self) -> None:
        self.node_id = secrets.token_hex(16)
        self.identity = SigningKey.generate()
        self.roles = {r: self.identity.derive(f"backup-role/{r}/1".encode())
                      for r in role_statement.ROLES}
        self.statement = role_statement.sign(
            self.node_id, {r: k.verify_key for r, k in self.roles.items()}, 1, self.identity)

    @property
    def encoded(self) -> str:
        return role_statement.encode(self.statement)


ALICE = RoleNode()
BOB_ID = secrets.token_hex(16)


def _frame(sender: RoleNode = ALICE, *, key: SigningKey | None = None,
           statement: str | None = None) -> bytes:
    envelope = seal(DeliveryAck(envelope_id=secrets.token_hex(16), status="accepted"),
                    sender=sender.node_id, recipient=BOB_ID,
                    signing_key=key or sender.roles["envelope"], now=NOW,
                    role_statement=sender.encoded if statement is None else statement)
    return envelope.to_frame()


def _verify(frame: bytes, identity: VerifyKey = ALICE.identity.verify_key):
    return verify_frame(frame, local_node_id=BOB_ID, now=NOW,
                        lookup_key=lambda node_id: identity if node_id == ALICE.node_id else None,
                        is_replay=lambda *_: False)


# -- the statement -------------------------------------------------------------------------


def test_a_statement_binds_one_key_per_role() -> None:
    parsed = role_statement.verify(ALICE.statement, ALICE.identity.verify_key, ALICE.node_id)
    assert parsed.generation == 1
    assert parsed.keys == {r: k.verify_key for r, k in ALICE.roles.items()}
    assert len(set(parsed.keys.values()) | {ALICE.identity.verify_key}) == 6
    assert role_statement.decode(parsed.encode()) == ALICE.statement


@FAST
@given(bit=st.integers(min_value=0))
def test_a_flipped_bit_in_the_statement_is_refused(bit: int) -> None:
    raw = bytearray(ALICE.statement)
    bit %= 8 * len(raw)
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SignatureError):
        role_statement.verify(bytes(raw), ALICE.identity.verify_key, ALICE.node_id)


@FAST
@given(value=st.binary(max_size=1200))
def test_any_bytes_are_refused_unless_signed(value: bytes) -> None:
    with pytest.raises(SignatureError):
        role_statement.verify(value, ALICE.identity.verify_key)


@FAST
@given(text=st.text(max_size=1500))
def test_any_text_is_refused_as_encoded_statement(text: str) -> None:
    with pytest.raises(SignatureError):
        role_statement.verify_encoded(text, ALICE.identity.verify_key)


def test_a_non_canonical_statement_is_refused_even_when_signed() -> None:
    """Signed, but not the one rendering of its content (upper-case hex, roles out of
    order, mixed generations): refused, so one statement has one byte form."""
    keys = {r: k.verify_key for r, k in ALICE.roles.items()}
    good = role_statement.text(ALICE.node_id, keys, 1)
    lines = good.decode().split("\n")
    variants = [
        good.replace(keys["witness"].raw().hex().encode(),
                     keys["witness"].raw().hex().upper().encode()),
        "\n".join([lines[0], lines[2], lines[1], *lines[3:]]).encode(),
        good.replace(b"manifest 1 ", b"manifest 2 "),
        good + b"extra\n",
    ]
    for body in variants:
        value = body + ALICE.identity.sign(role_statement.DOMAIN + body)
        with pytest.raises(SignatureError):
            role_statement.verify(value, ALICE.identity.verify_key, ALICE.node_id)


def test_another_nodes_statement_is_refused() -> None:
    with pytest.raises(SignatureError):
        role_statement.verify(ALICE.statement, ALICE.identity.verify_key, BOB_ID)


# -- envelopes -------------------------------------------------------------------------------


def test_an_envelope_signed_by_the_envelope_key_verifies_through_the_statement() -> None:
    verified = _verify(_frame())
    assert verified.key == ALICE.identity.verify_key  # the peer id stays the identity's
    assert role_key_of(verified.envelope, verified.key, "checkpoint") == \
        ALICE.roles["checkpoint"].verify_key


def test_an_envelope_without_a_statement_is_verified_with_the_identity_key() -> None:
    """Generation 0: the observatory, and nodes from before role keys."""
    envelope = seal(DeliveryAck(envelope_id=secrets.token_hex(16), status="accepted"),
                    sender=ALICE.node_id, recipient=BOB_ID, signing_key=ALICE.identity,
                    now=NOW)
    assert b"role_statement" not in envelope.to_frame()
    assert _verify(envelope.to_frame()).key == ALICE.identity.verify_key
    # ...but an envelope key without its statement is not the sender's key
    envelope = seal(DeliveryAck(envelope_id=secrets.token_hex(16), status="accepted"),
                    sender=ALICE.node_id, recipient=BOB_ID,
                    signing_key=ALICE.roles["envelope"], now=NOW)
    with pytest.raises(errors.BadSignature):
        _verify(envelope.to_frame())


@pytest.mark.parametrize("role", ["checkpoint", "witness", "custody", "manifest"])
def test_another_role_key_cannot_sign_an_envelope(role: str) -> None:
    with pytest.raises(errors.BadSignature):
        _verify(_frame(key=ALICE.roles[role]))


@FAST
@given(bit=st.integers(min_value=0, max_value=511))
def test_a_flipped_bit_in_the_envelope_role_signature_is_refused(bit: int) -> None:
    envelope = Envelope.from_frame(_frame())
    sig = bytearray(bytes.fromhex(envelope.signature))
    sig[bit // 8] ^= 1 << (bit % 8)
    forged = envelope.model_copy(update={"signature": sig.hex()})
    with pytest.raises(errors.BadSignature):
        _verify(forged.to_frame())


@FAST
@given(bit=st.integers(min_value=0))
def test_a_flipped_bit_in_the_carried_statement_is_refused(bit: int) -> None:
    raw = bytearray(ALICE.statement)
    bit %= 8 * len(raw)
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises((errors.BadSignature, errors.MalformedFrame)):
        _verify(_frame(statement=role_statement.encode(bytes(raw))))


def test_a_substituted_envelope_key_is_refused() -> None:
    """Someone with a key of their own makes a statement naming it as Alice's envelope
    key and signs the envelope with it: the statement is not signed by the identity key
    Alice's membership gives, so nothing is believed."""
    mallory = RoleNode()
    forged = role_statement.sign(ALICE.node_id,
                                 {r: k.verify_key for r, k in mallory.roles.items()}, 1,
                                 mallory.identity)
    with pytest.raises(errors.BadSignature):
        _verify(_frame(key=mallory.roles["envelope"], statement=role_statement.encode(forged)))
    # and Alice's own statement does not lend her envelope key to Mallory's identity
    with pytest.raises(errors.BadSignature):
        _verify(_frame(), identity=mallory.identity.verify_key)


# -- witnessing ------------------------------------------------------------------------------

ORIGIN = evidence_origin(ALICE.node_id)
COSIGNER = Cosigner(witness_name("cd" * 16), SigningKey.generate().derive(b"backup-role/witness/1"))


def _push(size: int, key: SigningKey) -> tuple[CheckpointPush, MemoryTree]:
    tree = MemoryTree(i.to_bytes(4, "big") for i in range(size))
    note = sign_checkpoint(Checkpoint(ORIGIN, size, root_hash(tree, size)),
                           NoteSigner(ORIGIN, key)).encode().decode()
    return CheckpointPush(checkpoint=note), tree


def _decide(push: CheckpointPush, role_key: VerifyKey | None) -> Cosign | Refuse:
    result = witness(push, origin=ORIGIN, log_key=ALICE.identity.verify_key, last=None,
                     cosigner=COSIGNER, now=NOW, role_key=role_key)
    assert isinstance(result, Cosign | Refuse)
    return result


def test_a_checkpoint_signed_by_the_checkpoint_key_is_cosigned() -> None:
    push, _ = _push(5, ALICE.roles["checkpoint"])
    assert isinstance(_decide(push, ALICE.roles["checkpoint"].verify_key), Cosign)
    # without the statement (no role key known), the same checkpoint is refused
    assert _decide(push, None) == Refuse(
        "bad_checkpoint_signature", None,
        "the checkpoint is not signed by the log's key under its origin name")


def test_an_old_identity_signed_checkpoint_is_still_cosigned() -> None:
    push, _ = _push(5, ALICE.identity)
    assert isinstance(_decide(push, ALICE.roles["checkpoint"].verify_key), Cosign)
    assert isinstance(_decide(push, None), Cosign)


@pytest.mark.parametrize("role", ["witness", "envelope", "custody", "manifest"])
def test_another_role_key_cannot_sign_a_checkpoint(role: str) -> None:
    push, _ = _push(5, ALICE.roles[role])
    assert isinstance(_decide(push, ALICE.roles["checkpoint"].verify_key), Refuse)


@FAST
@given(bit=st.integers(min_value=0, max_value=511))
def test_a_flipped_bit_in_the_checkpoint_role_signature_is_refused(bit: int) -> None:
    push, _ = _push(5, ALICE.roles["checkpoint"])
    body, sig_line = push.checkpoint.rsplit("\n\n", 1)
    name, b64 = sig_line.rstrip("\n").removeprefix("\u2014 ").split(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[4 + bit // 8] ^= 1 << (bit % 8)  # after the 4-byte key ID
    note = f"{body}\n\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    result = _decide(CheckpointPush(checkpoint=note), ALICE.roles["checkpoint"].verify_key)
    assert isinstance(result, Refuse) and result.reason == "bad_checkpoint_signature"
