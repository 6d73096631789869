"""The evidence log's leaf format (`backup_evidence.leaves`): a known answer assembled by hand,
hiding, binding of every field, and refusal of anything that is not a version-1 leaf."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backup_evidence import leaves
from backup_evidence.leaves import BadLeaf, EvidenceLeaf, ItemType


def flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)

KAT_SALT = bytes(range(32))
KAT_CONTENT = b'{"narrative":"BackUp"}'
KAT_TIME = 1_700_000_000
KAT_LEAF = bytes.fromhex(
    "01" "01" "000000006553f100"
    "a7f477f83d0130ae677fe8c2d062159a7112595ca863fbf06fed24fb4bc8f538")
KAT_LEAF_HASH = bytes.fromhex(
    "555743681861b9ae9d7647c1beeb2d184c0d92c398ac63b104bcc4d6fac758d9")


def test_leaf_known_answer() -> None:
    leaf = leaves.leaf_from_bytes(ItemType.REPORT, KAT_TIME, KAT_SALT, KAT_CONTENT)
    assert leaf.encode() == KAT_LEAF
    assert leaf.leaf_hash == KAT_LEAF_HASH
    # the same bytes, assembled from the format's description with hashlib alone
    commitment = hashlib.sha256(b"BackUp evidence commitment v1\x00" + KAT_SALT
                                + hashlib.sha256(KAT_CONTENT).digest()).digest()
    by_hand = b"\x01\x01" + KAT_TIME.to_bytes(8, "big") + commitment
    assert by_hand == KAT_LEAF
    assert hashlib.sha256(b"\x00" + by_hand).digest() == KAT_LEAF_HASH
    assert len(KAT_LEAF) == leaves.LEAF_SIZE == 42


def test_leaf_from_digest_equals_leaf_from_bytes() -> None:
    digest = hashlib.sha256(KAT_CONTENT).digest()
    assert (leaves.leaf_from_digest(ItemType.REPORT, KAT_TIME, KAT_SALT, digest)
            == leaves.leaf_from_bytes(ItemType.REPORT, KAT_TIME, KAT_SALT, KAT_CONTENT))


def test_salt_hides_content() -> None:
    content = b"the same photo"
    a = leaves.leaf_from_bytes(ItemType.ATTACHMENT, KAT_TIME, leaves.new_salt(), content)
    b = leaves.leaf_from_bytes(ItemType.ATTACHMENT, KAT_TIME, leaves.new_salt(), content)
    assert a.commitment != b.commitment and a.encode() != b.encode()
    digest = hashlib.sha256(content).digest()
    for leaf in (a, b):  # the unsalted digest, the guessing oracle, appears nowhere
        assert digest not in leaf.encode() and digest[:8] not in leaf.encode()
    assert len(leaves.new_salt()) == 32 and leaves.new_salt() != leaves.new_salt()


def test_leaf_opens_only_to_its_salt_and_content() -> None:
    salt = leaves.new_salt()
    leaf = leaves.leaf_from_bytes(ItemType.ADDITION, KAT_TIME, salt, b"more")
    assert leaf.commits_to(salt, hashlib.sha256(b"more").digest())
    assert not leaf.commits_to(salt, hashlib.sha256(b"more!").digest())
    assert not leaf.commits_to(flip(salt, 0), hashlib.sha256(b"more").digest())


def test_leaf_fields_are_all_committed() -> None:
    base = leaves.leaf_from_bytes(ItemType.REPORT, KAT_TIME, KAT_SALT, KAT_CONTENT)
    others = [
        leaves.leaf_from_bytes(ItemType.ADDITION, KAT_TIME, KAT_SALT, KAT_CONTENT),
        leaves.leaf_from_bytes(ItemType.REPORT, KAT_TIME + 1, KAT_SALT, KAT_CONTENT),
        leaves.leaf_from_bytes(ItemType.REPORT, KAT_TIME, flip(KAT_SALT, 255), KAT_CONTENT),
        leaves.leaf_from_bytes(ItemType.REPORT, KAT_TIME, KAT_SALT, KAT_CONTENT + b" "),
    ]
    assert len({base.leaf_hash, *(o.leaf_hash for o in others)}) == 5


@given(st.sampled_from(ItemType), st.integers(0, 2**64 - 1), st.binary(min_size=32,
                                                                          max_size=32))
def test_leaf_encoding_round_trips(item_type: ItemType, t: int, commitment: bytes) -> None:
    leaf = EvidenceLeaf(item_type, t, commitment)
    assert EvidenceLeaf.decode(leaf.encode()) == leaf


@pytest.mark.parametrize("data", [
    KAT_LEAF[:-1], KAT_LEAF + b"\x00", b"\x03" + KAT_LEAF[1:], b"\x00" + KAT_LEAF[1:],
    KAT_LEAF[:1] + b"\x00" + KAT_LEAF[2:], KAT_LEAF[:1] + b"\xff" + KAT_LEAF[2:],
])
def test_leaf_decoding_refuses_what_is_not_a_v1_leaf(data: bytes) -> None:
    with pytest.raises(BadLeaf):
        EvidenceLeaf.decode(data)


@pytest.mark.parametrize("args", [
    (ItemType.REPORT, KAT_TIME, KAT_SALT[:31], KAT_CONTENT),
    (ItemType.REPORT, -1, KAT_SALT, KAT_CONTENT),
    (ItemType.REPORT, 2**64, KAT_SALT, KAT_CONTENT),
    (ItemType.REPORT, True, KAT_SALT, KAT_CONTENT),
    (1, KAT_TIME, KAT_SALT, KAT_CONTENT),
])
def test_leaf_refuses_bad_fields(args: tuple[object, ...]) -> None:
    with pytest.raises(BadLeaf):
        leaves.leaf_from_bytes(*args)  # type: ignore[arg-type]
    with pytest.raises(BadLeaf):
        leaves.leaf_from_digest(ItemType.REPORT, KAT_TIME, KAT_SALT, b"short")
