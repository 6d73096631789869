"""The witness's decision (`protocol.witnessing`): honest logs are always cosigned, forks never.

Random logs are `crypto.merkle.MemoryTree`s signed as a node signs its evidence log
(C2SP tlog-checkpoint under the origin ``backup.node/<id>/evidence``); Hypothesis picks the
sizes, the leaves, the tampered bit.
"""

from __future__ import annotations

import base64
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    Cosigner,
    Ed25519Verifier,
    NoteSigner,
    open_checkpoint,
    sign_checkpoint,
)
from crypto.keys import SigningKey
from crypto.merkle import EMPTY_ROOT, MemoryTree, consistency_proof, root_hash
from protocol.witness import CheckpointPush
from protocol.witnessing import (
    Cosign,
    Fork,
    Refuse,
    Witnessed,
    cosigned_note,
    evidence_origin,
    response_for,
    witness,
    witness_name,
)

NOW = 1_800_000_000
NODE_ID = "ab" * 16
ORIGIN = evidence_origin(NODE_ID)
LOG_KEY = SigningKey.generate()
WITNESS_KEY = SigningKey.generate()
COSIGNER = Cosigner(witness_name("cd" * 16), WITNESS_KEY)
FAST = settings(max_examples=40, deadline=None)


def note_for(tree: MemoryTree, size: int, *, key: SigningKey = LOG_KEY,
             origin: str = ORIGIN) -> str:
    checkpoint = Checkpoint(origin, size, root_hash(tree, size))
    return sign_checkpoint(checkpoint, NoteSigner(origin, key)).encode().decode()


def push_for(tree: MemoryTree, size: int, old_size: int | None) -> CheckpointPush:
    proof: list[bytes] = []
    if old_size is not None and 0 < old_size < size:
        proof = consistency_proof(tree, old_size, size)
    return CheckpointPush(checkpoint=note_for(tree, size), old_size=old_size,
                          consistency_proof=tuple(h.hex() for h in proof))


def witnessed(tree: MemoryTree, size: int) -> Witnessed:
    return Witnessed(size, root_hash(tree, size), note_for(tree, size))


def decide(push: CheckpointPush, last: Witnessed | None) -> Cosign | Refuse | Fork:
    return witness(push, origin=ORIGIN, log_key=LOG_KEY.verify_key, last=last,
                   cosigner=COSIGNER, now=NOW)


def tree_of(n: int, salt: bytes = b"") -> MemoryTree:
    return MemoryTree(salt + i.to_bytes(4, "big") for i in range(n))


def assert_valid_cosignature(result: Cosign) -> None:
    cosigned = cosigned_note(result.note, result.cosignature_line).encode()
    _, verified = open_checkpoint(cosigned, Ed25519Verifier(ORIGIN, LOG_KEY.verify_key),
                                  [COSIGNER.verifier])
    assert verified.is_signed_by(COSIGNER.verifier)


# -- honest logs ------------------------------------------------------------------------------


@FAST
@given(sizes=st.lists(st.integers(1, 300), min_size=1, max_size=6))
def test_an_honest_log_is_cosigned_at_every_step(sizes: list[int]) -> None:
    tree = tree_of(max(sizes))
    last: Witnessed | None = None
    for size in sorted(sizes):
        result = decide(push_for(tree, size, None if last is None else last.size), last)
        assert isinstance(result, Cosign), result
        assert result.witnessed == Witnessed(size, root_hash(tree, size), result.note)
        assert_valid_cosignature(result)
        response = response_for(result, push=push_for(tree, size, None))
        assert response.outcome == "cosigned" and response.cosignature == result.cosignature_line
        last = result.witnessed


def test_first_push_is_trusted_and_the_same_checkpoint_is_cosigned_again() -> None:
    tree = tree_of(5)
    first = decide(push_for(tree, 5, None), None)
    assert isinstance(first, Cosign)
    again = decide(push_for(tree, 5, 5), first.witnessed)
    assert isinstance(again, Cosign) and again.witnessed == first.witnessed


def test_extension_of_the_empty_tree_needs_no_proof() -> None:
    tree = tree_of(9)
    empty = Witnessed(0, EMPTY_ROOT, note_for(tree, 0))
    assert isinstance(decide(push_for(tree, 0, None), None), Cosign)
    assert isinstance(decide(push_for(tree, 9, 0), empty), Cosign)


def test_cosignature_line_verifies_with_the_witness_vkey_and_time() -> None:
    tree = tree_of(3)
    result = decide(push_for(tree, 3, None), None)
    assert isinstance(result, Cosign)
    assert not result.cosignature_line.endswith("\n")
    assert result.cosignature_line.startswith(f"— {witness_name('cd' * 16)} ")
    blob = base64.b64decode(result.cosignature_line.rsplit(" ", 1)[1])
    assert int.from_bytes(blob[4:12], "big") == NOW
    verifier = CosignatureVerifier(COSIGNER.name, WITNESS_KEY.verify_key)
    assert verifier.verify(result.checkpoint.text().encode(), blob[4:])


# -- forks and other refusals -----------------------------------------------------------------


@FAST
@given(size=st.integers(1, 200), salt=st.binary(min_size=1, max_size=8))
def test_same_size_different_root_is_a_fork(size: int, salt: bytes) -> None:
    honest, other = tree_of(size), tree_of(size, salt)
    last = witnessed(honest, size)
    result = decide(push_for(other, size, size), last)
    assert isinstance(result, Fork) and result.reason == "inconsistent"
    assert result.old_note == last.note and result.new_note == note_for(other, size)
    assert result.witnessed_size == size
    assert response_for(result, push=push_for(other, size, size)).refusal == "inconsistent"


@FAST
@given(data=st.data())
def test_smaller_tree_is_refused(data: st.DataObject) -> None:
    big = data.draw(st.integers(2, 200))
    small = data.draw(st.integers(1, big - 1))
    tree = tree_of(big)
    result = decide(push_for(tree, small, None), witnessed(tree, big))
    assert type(result) is Refuse and result.reason == "smaller_tree"
    assert result.witnessed_size == big


@FAST
@given(data=st.data())
def test_extension_from_a_forked_tree_is_a_fork(data: st.DataObject) -> None:
    """The witness saw one tree; the log now proves consistency with another (its own)."""
    old = data.draw(st.integers(1, 100))
    new = data.draw(st.integers(old + 1, 200))
    seen, forked = tree_of(old, b"seen"), tree_of(new, b"forked")
    result = decide(push_for(forked, new, old), witnessed(seen, old))
    assert isinstance(result, Fork)


@FAST
@given(data=st.data())
def test_a_proof_for_another_tree_never_cosigns(data: st.DataObject) -> None:
    old = data.draw(st.integers(1, 100))
    new = data.draw(st.integers(old + 1, 200))
    honest, other = tree_of(new), tree_of(new, b"other")
    push = push_for(honest, new, old)
    stolen = CheckpointPush(
        checkpoint=push.checkpoint, old_size=old,
        consistency_proof=tuple(h.hex() for h in consistency_proof(other, old, new)),
    )
    result = decide(stolen, witnessed(honest, old))
    if consistency_proof(other, old, new) == consistency_proof(honest, old, new):
        assert isinstance(result, Cosign)  # only when both trees share every proof node
    else:
        assert isinstance(result, Fork)


@FAST
@given(data=st.data())
def test_a_wrong_length_proof_never_cosigns(data: st.DataObject) -> None:
    old = data.draw(st.integers(1, 100))
    new = data.draw(st.integers(old + 1, 200))
    tree = tree_of(new)
    push = push_for(tree, new, old)
    proof = list(push.consistency_proof)
    if data.draw(st.booleans()) and len(proof) > 1:
        proof = proof[:-1]
    else:
        proof = [*proof, secrets.token_hex(32)]
    bad = CheckpointPush(checkpoint=push.checkpoint, old_size=old, consistency_proof=tuple(proof))
    assert isinstance(decide(bad, witnessed(tree, old)), Fork)


@FAST
@given(data=st.data())
def test_a_flipped_bit_in_the_proof_never_cosigns(data: st.DataObject) -> None:
    old = data.draw(st.integers(1, 150))
    new = data.draw(st.integers(old + 1, 300))
    tree = tree_of(new)
    push = push_for(tree, new, old)
    raw = [bytearray(bytes.fromhex(h)) for h in push.consistency_proof]
    which = data.draw(st.integers(0, len(raw) - 1))
    bit = data.draw(st.integers(0, 255))
    raw[which][bit // 8] ^= 1 << (bit % 8)
    bad = CheckpointPush(checkpoint=push.checkpoint, old_size=old,
                         consistency_proof=tuple(bytes(h).hex() for h in raw))
    assert isinstance(decide(bad, witnessed(tree, old)), Fork)


@FAST
@given(data=st.data())
def test_a_flipped_bit_in_the_note_never_cosigns(data: st.DataObject) -> None:
    tree = tree_of(data.draw(st.integers(1, 50)))
    note = bytearray(note_for(tree, tree.size).encode())
    position = data.draw(st.integers(0, len(note) - 1))
    note[position] ^= 1 << data.draw(st.integers(0, 7))
    try:
        text = note.decode("utf-8")
        push = CheckpointPush(checkpoint=text)
    except (UnicodeDecodeError, ValueError):
        return  # not even a well-formed push: the envelope layer refuses it
    for last in (None, witnessed(tree, tree.size)):
        result = decide(push, last)
        assert not isinstance(result, Cosign) or push.checkpoint == note_for(tree, tree.size)


def test_forged_signature_is_refused() -> None:
    tree = tree_of(4)
    forged = CheckpointPush(checkpoint=note_for(tree, 4, key=SigningKey.generate()))
    result = decide(forged, None)
    assert type(result) is Refuse and result.reason == "bad_checkpoint_signature"


def test_another_origin_is_an_unknown_log() -> None:
    tree = tree_of(4)
    other = evidence_origin("ef" * 16)
    push = CheckpointPush(checkpoint=note_for(tree, 4, origin=other))
    result = decide(push, None)
    assert type(result) is Refuse and result.reason == "unknown_log"
    assert response_for(result, push=push).refusal == "unknown_log"


def test_old_size_must_be_the_witnessed_size() -> None:
    tree = tree_of(20)
    last = witnessed(tree, 10)
    for old_size in (None, 5, 11):
        result = decide(push_for(tree, 20, old_size), last)
        assert type(result) is Refuse and result.reason == "old_size_mismatch"
        assert result.witnessed_size == 10
    response = response_for(decide(push_for(tree, 20, 5), last), push=push_for(tree, 20, 5))
    assert response.witnessed_size == 10 and response.outcome == "refused"


def test_size_zero_with_a_non_empty_root_is_malformed() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, b"\x01" * 32)
    note = sign_checkpoint(checkpoint, NoteSigner(ORIGIN, LOG_KEY)).encode().decode()
    result = decide(CheckpointPush(checkpoint=note), None)
    assert type(result) is Refuse and result.reason == "malformed"


def test_cosigned_note_replaces_an_older_cosignature_by_the_same_witness() -> None:
    tree = tree_of(6)
    first = decide(push_for(tree, 6, None), None)
    assert isinstance(first, Cosign)
    later = witness(push_for(tree, 6, 6), origin=ORIGIN, log_key=LOG_KEY.verify_key,
                    last=first.witnessed, cosigner=COSIGNER, now=NOW + 60)
    assert isinstance(later, Cosign)
    once = cosigned_note(first.note, first.cosignature_line)
    twice = cosigned_note(once, later.cosignature_line)
    assert twice.count(COSIGNER.name) == 1 and later.cosignature_line in twice


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 1000])
def test_extension_by_one_leaf(size: int) -> None:
    tree = tree_of(size + 1)
    result = decide(push_for(tree, size + 1, size), witnessed(tree, size))
    assert isinstance(result, Cosign)
