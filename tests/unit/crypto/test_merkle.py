"""Merkle tree math: published RFC 6962 vectors, an RFC 9162 reference, and Hypothesis.

The known answers are the standard eight-leaf vectors of Certificate Transparency
(certificate-transparency ``merkle_tree_test.cc``), as kept by transparency-dev/merkle in
``proof/verify_test.go``: roots for sizes 1..8, inclusion proofs and consistency proofs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError, ProofError
from crypto.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    node_hash,
    root_from_inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# -- published vectors (transparency-dev/merkle proof/verify_test.go) ------------------------

LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

ROOTS = [  # ROOTS[n - 1] is the root of the first n leaves
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (leaf number, 1-based as in the Go source; tree size; path)
INCLUSION = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        2,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
EMPTY_TREE_HASH = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def rejected(fn: object, **kwargs: object) -> bool:
    try:
        fn(**kwargs)  # type: ignore[operator]
    except ProofError:
        return True
    return False


# -- RFC 9162 §2.1 written out literally, as an oracle --------------------------------------


def ref_mth(d: Sequence[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


# -- hashing and roots ----------------------------------------------------------------------


def test_hash_prefixes_follow_rfc_9162() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


def test_empty_tree_root() -> None:
    assert EMPTY_ROOT == EMPTY_TREE_HASH
    assert merkle_tree_hash([]) == EMPTY_TREE_HASH
    assert root_hash(MemoryTree()) == EMPTY_TREE_HASH


@pytest.mark.parametrize("size", range(1, 9))
def test_published_roots(size: int) -> None:
    tree = MemoryTree(LEAVES)
    assert root_hash(tree, size) == ROOTS[size - 1]
    assert merkle_tree_hash(LEAVES[:size]) == ROOTS[size - 1]


def test_memory_tree_refuses_unaligned_subtrees() -> None:
    tree = MemoryTree(LEAVES)
    assert tree.subtree_hash(4, 8) == node_hash(tree.subtree_hash(4, 6), tree.subtree_hash(6, 8))
    for start, end in [(1, 3), (0, 3), (2, 6), (8, 9), (0, 16), (4, 4)]:
        with pytest.raises(ProofError):
            tree.subtree_hash(start, end)
    with pytest.raises(ProofError):
        root_hash(tree, 9)


# -- known answers: inclusion ---------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_published_inclusion_proofs(leaf: int, size: int, path: list[bytes]) -> None:
    tree = MemoryTree(LEAVES)
    index = leaf - 1
    assert inclusion_proof(tree, index, size) == path
    lh = leaf_hash(LEAVES[index])
    root = ROOTS[size - 1]
    assert root_from_inclusion_proof(leaf_hash=lh, index=index, size=size, path=path) == root
    verify_inclusion(leaf_hash=lh, index=index, size=size, path=path, root=root)


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION[1:])
def test_published_inclusion_proofs_resist_corruption(
    leaf: int, size: int, path: list[bytes]
) -> None:
    """The probes of transparency-dev/merkle ``corruptInclusionProof``."""
    index, lh, root = leaf - 1, leaf_hash(LEAVES[leaf - 1]), ROOTS[size - 1]
    probes: list[tuple[str, int, int, bytes, list[bytes], bytes]] = [
        ("index - 1", index - 1, size, lh, path, root),
        ("index + 1", index + 1, size, lh, path, root),
        ("index ^ 2", index ^ 2, size, lh, path, root),
        ("size * 2", index, size * 2, lh, path, root),
        ("size // 2", index, size // 2, lh, path, root),
        ("wrong leaf", index, size, leaf_hash(b"WrongLeaf"), path, root),
        ("empty root", index, size, lh, path, EMPTY_TREE_HASH),
        ("random root", index, size, lh, path, SOME_HASH),
        ("trailing garbage", index, size, lh, [*path, b""], root),
        ("trailing root", index, size, lh, [*path, root], root),
        ("preceding garbage", index, size, lh, [b"", *path], root),
        ("preceding root", index, size, lh, [root, *path], root),
        ("removed component", index, size, lh, path[:-1], root),
        ("inserted component", index, size, lh, [path[0], SOME_HASH, *path[1:]], root),
    ]
    for i in range(len(path)):
        bad = list(path)
        bad[i] = flip(bad[i], 3)
        probes.append((f"proof[{i}] bit 3", index, size, lh, bad, root))
    accepted = [
        name
        for name, i, n, leaf_h, p, r in probes
        if not rejected(verify_inclusion, leaf_hash=leaf_h, index=i, size=n, path=p, root=r)
    ]
    assert accepted == []


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_refuses_empty_proof_with_bad_sizes_or_hashes(index: int, size: int) -> None:
    for lh, root in [(SOME_HASH, b""), (b"", EMPTY_TREE_HASH), (SOME_HASH, EMPTY_TREE_HASH)]:
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash=lh, index=index, size=size, path=[], root=root)


def test_inclusion_single_entry() -> None:
    lh = leaf_hash(b"data")
    verify_inclusion(leaf_hash=lh, index=0, size=1, path=[], root=lh)
    for leaf_h, root in [(lh, b""), (b"", lh), (b"", b"")]:
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash=leaf_h, index=0, size=1, path=[], root=root)


@pytest.mark.parametrize(
    "bad",
    [
        {"index": 8},
        {"index": -1},
        {"size": 0},
        {"size": True},
        {"index": 1.0},
        {"size": 2**64},
        {"path": b"\x00" * 96},
        {"path": "not a list"},
        {"path": [b"\x00" * 31, b"\x00" * 32, b"\x00" * 32]},
    ],
)
def test_inclusion_refuses_malformed_input_with_one_error_type(bad: dict[str, object]) -> None:
    args: dict[str, object] = {
        "leaf_hash": leaf_hash(LEAVES[0]),
        "index": 0,
        "size": 8,
        "path": INCLUSION[1][2],
        "root": ROOTS[7],
    }
    args.update(bad)
    with pytest.raises(ProofError) as raised:
        verify_inclusion(**args)  # type: ignore[arg-type]
    assert isinstance(raised.value, CryptoError)
    assert str(raised.value)


def test_inclusion_says_what_is_wrong_with_the_path_length() -> None:
    with pytest.raises(ProofError, match="has 2 hashes; leaf 0 of 8 needs 3"):
        verify_inclusion(
            leaf_hash=leaf_hash(LEAVES[0]), index=0, size=8, path=INCLUSION[1][2][:2], root=ROOTS[7]
        )


def test_inclusion_generation_refuses_leaves_outside_the_tree() -> None:
    tree = MemoryTree(LEAVES)
    for index, size in [(0, 0), (3, 3), (-1, 5), (0, 9)]:
        with pytest.raises(ProofError):
            inclusion_proof(tree, index, size)


def test_an_inclusion_proof_alone_does_not_fix_the_tree_size() -> None:
    """RFC 9162 inclusion proofs bind the root, not the size: leaf 0 of a tree of 4 has the
    same path shape as leaf 0 of a tree of 3. Callers must take size and root together from
    one signed checkpoint; with the root of the claimed size the proof is rejected."""
    tree = MemoryTree(LEAVES)
    path, lh = inclusion_proof(tree, 0, 4), leaf_hash(LEAVES[0])
    verify_inclusion(leaf_hash=lh, index=0, size=3, path=path, root=ROOTS[3])
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash=lh, index=0, size=3, path=path, root=ROOTS[2])


# -- known answers: consistency -------------------------------------------------------------


@pytest.mark.parametrize(("size1", "size2", "path"), CONSISTENCY)
def test_published_consistency_proofs(size1: int, size2: int, path: list[bytes]) -> None:
    tree = MemoryTree(LEAVES)
    assert consistency_proof(tree, size1, size2) == path
    verify_consistency(
        size1=size1, size2=size2, root1=ROOTS[size1 - 1], root2=ROOTS[size2 - 1], path=path
    )


@pytest.mark.parametrize(("size1", "size2", "path"), CONSISTENCY[1:])
def test_published_consistency_proofs_resist_corruption(
    size1: int, size2: int, path: list[bytes]
) -> None:
    """The probes of transparency-dev/merkle ``corruptConsistencyProof``."""
    r1, r2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
    probes: list[tuple[str, int, int, bytes, bytes, list[bytes]]] = [
        ("size1 - 1", size1 - 1, size2, r1, r2, path),
        ("size1 + 1", size1 + 1, size2, r1, r2, path),
        ("size1 ^ 2", size1 ^ 2, size2, r1, r2, path),
        ("size2 * 2", size1, size2 * 2, r1, r2, path),
        ("size2 // 2", size1, size2 // 2, r1, r2, path),
        ("wrong root1", size1, size2, SOME_HASH, r2, path),
        ("wrong root2", size1, size2, r1, SOME_HASH, path),
        ("swapped roots", size1, size2, r2, r1, path),
        ("empty proof", size1, size2, r1, r2, []),
        ("trailing garbage", size1, size2, r1, r2, [*path, b""]),
        ("trailing root1", size1, size2, r1, r2, [*path, r1]),
        ("trailing root2", size1, size2, r1, r2, [*path, r2]),
        ("preceding garbage", size1, size2, r1, r2, [b"", *path]),
        ("preceding root1", size1, size2, r1, r2, [r1, *path]),
        ("preceding root2", size1, size2, r1, r2, [r2, *path]),
        ("preceding proof[0]", size1, size2, r1, r2, [path[0], *path]),
        ("truncated proof", size1, size2, r1, r2, path[:-1]),
    ]
    for i in range(len(path)):
        bad = list(path)
        bad[i] = flip(bad[i], 4)
        probes.append((f"proof[{i}] bit 4", size1, size2, r1, r2, bad))
    accepted = [
        name
        for name, m, n, a, b, p in probes
        if not rejected(verify_consistency, size1=m, size2=n, root1=a, root2=b, path=p)
    ]
    assert accepted == []


@pytest.mark.parametrize(
    ("size1", "size2", "root1", "root2", "path", "ok"),
    [
        (1, 1, ROOTS[0], ROOTS[1], [], False),  # same size, different roots
        (1, 1, ROOTS[1], ROOTS[1], [], True),
        (8, 8, ROOTS[7], ROOTS[7], [], True),
        (1, 0, ROOTS[0], ROOTS[1], [], False),  # time travel to the past
        (2, 1, ROOTS[0], ROOTS[1], [], False),
        (1, 2, ROOTS[0], ROOTS[1], [], False),  # empty proof
        (1, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], False),  # equal, not empty
        # From the empty tree nothing can be proven; transparency-dev accepts these, we refuse.
        (0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [], False),
        (0, 1, EMPTY_TREE_HASH, ROOTS[0], [], False),
        (1, 2, ROOTS[0][:31], ROOTS[1], [], False),  # short hash
    ],
)
def test_consistency_edge_cases(
    size1: int, size2: int, root1: bytes, root2: bytes, path: list[bytes], ok: bool
) -> None:
    if ok:
        verify_consistency(size1=size1, size2=size2, root1=root1, root2=root2, path=path)
    else:
        with pytest.raises(ProofError):
            verify_consistency(size1=size1, size2=size2, root1=root1, root2=root2, path=path)


def test_consistency_generation_refuses_impossible_sizes() -> None:
    tree = MemoryTree(LEAVES)
    for size1, size2 in [(0, 5), (6, 5), (1, 9), (-1, 3)]:
        with pytest.raises(ProofError):
            consistency_proof(tree, size1, size2)
    assert consistency_proof(tree, 8) == []


# -- generation agrees with the RFC text, exhaustively for small trees ----------------------


def test_generation_matches_rfc_9162_reference_for_every_small_tree() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(40)]
    tree = MemoryTree(leaves)
    for n in range(1, len(leaves) + 1):
        assert root_hash(tree, n) == ref_mth(leaves[:n])
        for m in range(n):
            assert inclusion_proof(tree, m, n) == ref_path(m, leaves[:n])
        for m in range(1, n + 1):
            assert consistency_proof(tree, m, n) == ref_subproof(m, leaves[:n], True)


# -- Hypothesis: every proof verifies, every change breaks it -------------------------------

MAX_SIZE = 300


@cache
def big_tree() -> MemoryTree:
    return MemoryTree(b"evidence %d" % i for i in range(MAX_SIZE + 1))


@cache
def root_of(size: int) -> bytes:
    return root_hash(big_tree(), size)


@st.composite
def leaf_in_tree(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(2, MAX_SIZE))
    return draw(st.integers(1, size2 - 1)), size2


@settings(max_examples=300, deadline=None)
@given(leaf_in_tree(), st.data())
def test_every_inclusion_proof_verifies_and_any_change_breaks_it(
    case: tuple[int, int], data: st.DataObject
) -> None:
    index, size = case
    tree = big_tree()
    path, lh, root = inclusion_proof(tree, index, size), tree.leaf_hash(index), root_of(size)
    verify_inclusion(leaf_hash=lh, index=index, size=size, path=path, root=root)

    bit = data.draw(st.integers(0, 255), label="bit")
    assert rejected(
        verify_inclusion, leaf_hash=flip(lh, bit), index=index, size=size, path=path, root=root
    )
    assert rejected(
        verify_inclusion, leaf_hash=lh, index=index, size=size, path=path, root=flip(root, bit)
    )
    if path:
        at = data.draw(st.integers(0, len(path) - 1), label="element")
        bad = [flip(p, bit) if i == at else p for i, p in enumerate(path)]
        assert rejected(verify_inclusion, leaf_hash=lh, index=index, size=size, path=bad, root=root)
    for other in {index - 1, index + 1} - {-1, size}:
        assert rejected(
            verify_inclusion, leaf_hash=lh, index=other, size=size, path=path, root=root
        )
    # A different size, with that size's own root (size and root travel together in a
    # checkpoint; see test_an_inclusion_proof_alone_does_not_fix_the_tree_size).
    for other in {size - 1, size + 1} - {0, index}:
        assert rejected(
            verify_inclusion, leaf_hash=lh, index=index, size=other, path=path, root=root_of(other)
        )


@settings(max_examples=300, deadline=None)
@given(two_sizes(), st.data())
def test_every_consistency_proof_verifies_and_any_change_breaks_it(
    case: tuple[int, int], data: st.DataObject
) -> None:
    size1, size2 = case
    path, r1, r2 = consistency_proof(big_tree(), size1, size2), root_of(size1), root_of(size2)
    verify_consistency(size1=size1, size2=size2, root1=r1, root2=r2, path=path)

    def breaks(m: int, n: int, a: bytes, b: bytes, p: list[bytes]) -> bool:
        return rejected(verify_consistency, size1=m, size2=n, root1=a, root2=b, path=p)

    bit = data.draw(st.integers(0, 255), label="bit")
    assert breaks(size1, size2, flip(r1, bit), r2, path)
    assert breaks(size1, size2, r1, flip(r2, bit), path)
    at = data.draw(st.integers(0, len(path) - 1), label="element")
    assert breaks(
        size1, size2, r1, r2, [flip(p, bit) if i == at else p for i, p in enumerate(path)]
    )
    for other in {size1 - 1, size1 + 1} - {0}:
        assert breaks(other, size2, root_of(other), r2, path)
    for other in {size2 - 1, size2 + 1} - {size1}:
        assert breaks(size1, other, r1, root_of(other), path)


# -- proofs cost O(log n) subtree reads, however large the log ------------------------------


class CountingTree:
    """A log of any size whose subtree hashes are made up: counts reads, checks alignment."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads = 0

    def subtree_hash(self, start: int, end: int) -> bytes:
        width = end - start
        assert width > 0 and width & (width - 1) == 0 and start % width == 0 and end <= self.size
        self.reads += 1
        return hashlib.sha256(b"%d-%d" % (start, end)).digest()


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 2**63), st.data())
def test_proofs_read_logarithmically_many_aligned_subtrees(size: int, data: st.DataObject) -> None:
    height = (size - 1).bit_length()
    tree = CountingTree(size)
    path = inclusion_proof(tree, data.draw(st.integers(0, size - 1)), size)
    assert len(path) <= height and tree.reads <= 2 * height
    tree.reads = 0
    path = consistency_proof(tree, data.draw(st.integers(1, size)), size)
    assert len(path) <= 2 * height and tree.reads <= 3 * height
    tree.reads = 0
    root_hash(tree)
    assert tree.reads <= height + 1
